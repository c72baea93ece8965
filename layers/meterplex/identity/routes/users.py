"""/api/v1/users: people in the caller's tenants."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from meterplex.identity.routes import Services
from meterplex.identity.schemas import CreateUserRequest, MemberOut, UpdateUserRequest, UserOut
from meterplex.platform.api import AUTH_TENANT, AUTH_USER, JSON, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, tenant_access

router = Router()
TAGS = ["Users"]
PREFIX = "/api/v1/users"


@router.post(
    PREFIX,
    tags=TAGS,
    summary="Create a user in the tenant, or add an existing one (OWNER/ADMIN)",
    security=AUTH_TENANT,
    status_code=201,
)
def create_user(body: Annotated[CreateUserRequest, Body()]) -> Response[MemberOut]:
    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router), roles=MANAGERS)
    user, role = Services.tenants().create_user(
        access,
        email=body.email,
        password=body.password.get_secret_value(),
        first_name=body.first_name,
        last_name=body.last_name,
        role=body.role,
        actor=actor_of(router, principal),
    )
    out = MemberOut(**UserOut.of(user).model_dump(), role=role)
    return Response(status_code=201, content_type=JSON, body=out)


@router.get(
    f"{PREFIX}/<id>", tags=TAGS, summary="A user who shares a tenant with the caller", security=AUTH_USER
)
def get_user(id: str) -> UserOut:
    return UserOut.of(Services.tenants().visible_user(principal_of(router), id))


@router.patch(
    f"{PREFIX}/<id>", tags=TAGS, summary="Update a user's names or active status", security=AUTH_USER
)
def update_user(id: str, body: Annotated[UpdateUserRequest, Body()]) -> UserOut:
    principal = principal_of(router)
    changes = body.model_dump(by_alias=True, exclude_unset=True)
    return UserOut.of(Services.tenants().update_user(principal, id, changes, actor_of(router, principal)))
