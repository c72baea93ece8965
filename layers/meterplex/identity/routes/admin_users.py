"""/api/v1/admin/users: accounts themselves, for platform admins (SPEC §2, §8.4)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from meterplex.identity.routes import Services
from meterplex.identity.schemas import AdminUpdateUserRequest, UserOut
from meterplex.platform.api import AUTH_USER, actor_of, principal_of

router = Router()
TAGS = ["Admin"]


@router.patch(
    "/api/v1/admin/users/<id>",
    tags=TAGS,
    summary="Activate or deactivate an account (platform admin); deactivating ends its sessions",
    security=AUTH_USER,
)
def update_account(id: str, body: Annotated[AdminUpdateUserRequest, Body()]) -> UserOut:
    principal = principal_of(router)
    user = Services.users().set_account_active(principal, id, body.is_active, actor_of(router, principal))
    return UserOut.of(user)
