"""Auth, tenants, users and API keys (SPEC §1–§2)."""

from __future__ import annotations

from typing import Any

from meterplex_client.endpoint import Args, M, Operation, Resource, endpoint, program
from meterplex_client.models.base import Message, Page
from meterplex_client.models.identity import (
    ApiKey,
    ApiKeyCreated,
    ChangePasswordRequest,
    CreateApiKeyRequest,
    CreateTenantRequest,
    CreateUserRequest,
    ForgotPasswordRequest,
    Invitation,
    InvitationCreated,
    LoginRequest,
    LoginResult,
    LogoutRequest,
    Member,
    RefreshRequest,
    RegisterRequest,
    RegisterResult,
    ResetPasswordRequest,
    Tenant,
    TenantContext,
    TenantWithRole,
    TokenPair,
    UpdateTenantRequest,
    UpdateUserRequest,
    User,
    UserWithMembership,
)
from meterplex_client.resources.paging import page_params
from meterplex_client.transport import Program

LOGIN = Operation("POST", "/auth/login", LoginResult, LoginRequest)
REGISTER = Operation("POST", "/auth/register", RegisterResult, RegisterRequest)
REFRESH = Operation("POST", "/auth/refresh", TokenPair, RefreshRequest)
CHANGE_PASSWORD = Operation("POST", "/auth/change-password", TokenPair, ChangePasswordRequest)
CREATE_USER = Operation("POST", "/users", Member | InvitationCreated, CreateUserRequest)


class Auth(Resource[M]):
    """Log in and manage sessions. `login`, `register`, `refresh` and `change_password` keep the
    new token pair on the client (and hand it to `on_tokens`), so later calls are authenticated."""

    def _keep(self, pair: TokenPair) -> None:
        self._core.session.use_tokens(pair.access_token, pair.refresh_token)

    def _tokens(self, api: Operation, body: Any, authenticated: bool = False) -> Program[Any]:
        pair = yield from self._request(api.call(Args(json=body, authenticated=authenticated)), api.response)
        self._keep(pair)
        return pair

    @program(REGISTER)
    def register(
        self,
        *,
        email: str,
        password: str,
        first_name: str,
        last_name: str,
        tenant_name: str,
        tenant_slug: str,
    ) -> Program[RegisterResult]:
        """Create a user, their tenant and the OWNER membership; the client uses the new tenant."""
        body = RegisterRequest(
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            tenant_name=tenant_name,
            tenant_slug=tenant_slug,
        )
        result: RegisterResult = yield from self._tokens(REGISTER, body)
        self._core.session.tenant_id = self._core.session.tenant_id or result.tenant.id
        return result

    @program(LOGIN)
    def login(self, email: str, password: str) -> Program[LoginResult]:
        """Log in with email and password (an access JWT for 15 min and a refresh token)."""
        result: LoginResult = yield from self._tokens(LOGIN, LoginRequest(email=email, password=password))
        return result

    @program(REFRESH)
    def refresh(self, refresh_token: str | None = None) -> Program[TokenPair]:
        """Rotate the refresh token (the old one is revoked)."""
        token = refresh_token or self._core.session.refresh_token or ""
        pair: TokenPair = yield from self._tokens(REFRESH, RefreshRequest(refresh_token=token))
        return pair

    @program(CHANGE_PASSWORD)
    def change_password(self, current_password: str, new_password: str) -> Program[TokenPair]:
        """Change the password; other sessions are revoked, this one gets a new pair."""
        body = ChangePasswordRequest(current_password=current_password, new_password=new_password)
        pair: TokenPair = yield from self._tokens(CHANGE_PASSWORD, body, authenticated=True)
        return pair

    @endpoint("GET", "/auth/me", response=User)
    def me(self) -> Args:
        """The current user."""
        return Args()

    @endpoint("POST", "/auth/forgot-password", response=Message, body=ForgotPasswordRequest)
    def forgot_password(self, email: str) -> Args:
        return Args(json=ForgotPasswordRequest(email=email), authenticated=False)

    @endpoint("POST", "/auth/reset-password", response=Message, body=ResetPasswordRequest)
    def reset_password(self, token: str, new_password: str) -> Args:
        return Args(json=ResetPasswordRequest(token=token, new_password=new_password), authenticated=False)

    @endpoint("POST", "/auth/logout", response=Message, body=LogoutRequest)
    def logout(self, refresh_token: str | None = None) -> Args:
        """Revoke a refresh token (default: the client's)."""
        token = refresh_token or self._core.session.refresh_token or ""
        return Args(json=LogoutRequest(refresh_token=token))

    @endpoint("POST", "/auth/revoke-all", response=Message)
    def revoke_all(self) -> Args:
        """Revoke every session of the current user."""
        return Args()


class Tenants(Resource[M]):
    @endpoint("POST", "/tenants", response=TenantWithRole, body=CreateTenantRequest)
    def create(self, name: str, slug: str, metadata: dict[str, Any] | None = None) -> Args:
        """Create a tenant; the caller becomes its OWNER."""
        return Args(json=CreateTenantRequest(name=name, slug=slug, metadata=metadata))

    @endpoint("GET", "/tenants", response=Page[TenantWithRole])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        """The caller's tenants, with the caller's role in each."""
        return Args(params=page_params(page, limit))

    @endpoint("GET", "/tenants/{id}", response=Tenant)
    def get(self, tenant_id: str) -> Args:
        return Args.of(tenant_id)

    @endpoint("GET", "/tenants/slug/{slug}", response=Tenant)
    def get_by_slug(self, slug: str) -> Args:
        return Args.of(slug)

    @endpoint("PATCH", "/tenants/{id}", response=Tenant, body=UpdateTenantRequest)
    def update(
        self,
        tenant_id: str,
        *,
        name: str | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        collection: str | None = None,
    ) -> Args:
        """Rename, set metadata, cancel (OWNER), or set payment collection `automatic|manual`."""
        body = UpdateTenantRequest(name=name, metadata=metadata, status=status, collection=collection)
        return Args.of(tenant_id, json=body)

    @endpoint("GET", "/tenants/me/context", response=TenantContext)
    def context(self) -> Args:
        """The current tenant, the caller's role and the active subscription's summary."""
        return Args()

    @endpoint("DELETE", "/tenants/{id}/members/{userId}", response=type(None))
    def remove_member(self, tenant_id: str, user_id: str) -> Args:
        """Remove a membership (OWNER/ADMIN, or the member leaving)."""
        return Args.of(tenant_id, user_id)


class Users(Resource[M]):
    @program(CREATE_USER)
    def create(
        self, *, email: str, password: str, first_name: str, last_name: str, role: str | None = None
    ) -> Program[Member | InvitationCreated]:
        """Add a person: a new account (`Member`, 201), or for an email that already has an account
        an invitation they accept themselves (`InvitationCreated`, 202)."""
        body = CreateUserRequest(
            email=email, password=password, first_name=first_name, last_name=last_name, role=role
        )
        added: Member | InvitationCreated = yield from self._request(
            CREATE_USER.call(Args(json=body)), CREATE_USER.response
        )
        return added

    @endpoint("GET", "/users/{id}", response=User)
    def get(self, user_id: str) -> Args:
        return Args.of(user_id)

    @endpoint("PATCH", "/users/{id}", response=UserWithMembership, body=UpdateUserRequest)
    def update(
        self,
        user_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        role: str | None = None,
        is_active: bool | None = None,
    ) -> Args:
        body = UpdateUserRequest(first_name=first_name, last_name=last_name, role=role, is_active=is_active)
        return Args.of(user_id, json=body)

    @endpoint("GET", "/users/me/invitations", response=Page[Invitation])
    def invitations(self) -> Args:
        """Pending invitations of the current user."""
        return Args()

    @endpoint("POST", "/users/me/invitations/{id}/accept", response=TenantWithRole)
    def accept_invitation(self, invitation_id: str) -> Args:
        return Args.of(invitation_id)

    @endpoint("POST", "/users/me/invitations/{id}/decline", response=Invitation)
    def decline_invitation(self, invitation_id: str) -> Args:
        return Args.of(invitation_id)


class ApiKeys(Resource[M]):
    @endpoint("POST", "/api-keys", response=ApiKeyCreated, body=CreateApiKeyRequest)
    def create(self, name: str, *, expires_in_days: int | None = None) -> Args:
        """Create an API key; `key` is the full secret, shown only in this answer."""
        return Args(json=CreateApiKeyRequest(name=name, expires_in_days=expires_in_days))

    @endpoint("GET", "/api-keys", response=Page[ApiKey])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args(params=page_params(page, limit))

    @endpoint("DELETE", "/api-keys/{id}", response=ApiKey)
    def revoke(self, key_id: str) -> Args:
        return Args.of(key_id)
