"""/api/v1/auth: register, login, tokens, passwords, sessions."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from meterplex.identity.routes import Services
from meterplex.identity.schemas import (
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginOut,
    LoginRequest,
    LogoutRequest,
    MessageOut,
    RefreshRequest,
    RegisterOut,
    RegisterRequest,
    ResetPasswordRequest,
    TenantOut,
    TokenPairOut,
    UserOut,
)
from meterplex.platform.api import AUTH_USER, JSON, actor_of, principal_of

router = Router()
TAGS = ["Auth"]
PREFIX = "/api/v1/auth"
FORGOT_ANSWER = "If the email is registered, a reset link has been sent"


@router.post(f"{PREFIX}/register", tags=TAGS, summary="Register a user and their tenant", status_code=201)
def register(body: Annotated[RegisterRequest, Body()]) -> Response[RegisterOut]:
    pair, user, tenant = Services.auth().register(
        email=body.email,
        password=body.password.get_secret_value(),
        first_name=body.first_name,
        last_name=body.last_name,
        tenant_name=body.tenant_name,
        tenant_slug=body.tenant_slug,
        actor=actor_of(router),
    )
    out = RegisterOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        user=UserOut.of(user),
        tenant=TenantOut.of(tenant),
    )
    return Response(status_code=201, content_type=JSON, body=out)


@router.post(f"{PREFIX}/login", tags=TAGS, summary="Log in: access JWT + refresh token")
def login(body: Annotated[LoginRequest, Body()]) -> LoginOut:
    pair, user = Services.auth().login(
        email=body.email, password=body.password.get_secret_value(), actor=actor_of(router)
    )
    return LoginOut(access_token=pair.access_token, refresh_token=pair.refresh_token, user=UserOut.of(user))


@router.post(f"{PREFIX}/refresh", tags=TAGS, summary="Rotate a refresh token")
def refresh(body: Annotated[RefreshRequest, Body()]) -> TokenPairOut:
    pair = Services.auth().refresh(body.refresh_token.get_secret_value())
    return TokenPairOut(access_token=pair.access_token, refresh_token=pair.refresh_token)


@router.get(f"{PREFIX}/me", tags=TAGS, summary="The current user", security=AUTH_USER)
def me() -> UserOut:
    return UserOut.of(Services.auth().me(principal_of(router).require_user()))


@router.post(
    f"{PREFIX}/change-password",
    tags=TAGS,
    summary="Change password; revokes other sessions",
    security=AUTH_USER,
)
def change_password(body: Annotated[ChangePasswordRequest, Body()]) -> TokenPairOut:
    principal = principal_of(router)
    pair = Services.auth().change_password(
        principal.require_user(),
        body.current_password.get_secret_value(),
        body.new_password.get_secret_value(),
        actor_of(router, principal),
    )
    return TokenPairOut(access_token=pair.access_token, refresh_token=pair.refresh_token)


@router.post(f"{PREFIX}/forgot-password", tags=TAGS, summary="Request a password reset token")
def forgot_password(body: Annotated[ForgotPasswordRequest, Body()]) -> MessageOut:
    Services.auth().forgot_password(body.email, actor_of(router))
    return MessageOut(message=FORGOT_ANSWER)


@router.post(f"{PREFIX}/reset-password", tags=TAGS, summary="Reset the password with a token")
def reset_password(body: Annotated[ResetPasswordRequest, Body()]) -> MessageOut:
    Services.auth().reset_password(
        body.token.get_secret_value(), body.new_password.get_secret_value(), actor_of(router)
    )
    return MessageOut(message="Password reset; every session was revoked")


@router.post(f"{PREFIX}/logout", tags=TAGS, summary="Revoke a refresh token", security=AUTH_USER)
def logout(body: Annotated[LogoutRequest, Body()]) -> MessageOut:
    Services.auth().logout(principal_of(router).require_user(), body.refresh_token.get_secret_value())
    return MessageOut(message="Logged out")


@router.post(
    f"{PREFIX}/revoke-all", tags=TAGS, summary="Revoke every session of the current user", security=AUTH_USER
)
def revoke_all() -> MessageOut:
    principal = principal_of(router)
    Services.auth().revoke_all(principal.require_user(), actor_of(router, principal))
    return MessageOut(message="All sessions revoked")
