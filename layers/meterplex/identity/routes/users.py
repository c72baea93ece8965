"""/api/v1/users: people in the caller's tenants, and the caller's invitations."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from meterplex.identity.routes import Services
from meterplex.identity.schemas import (
    CreateUserRequest,
    InvitationCreatedOut,
    InvitationOut,
    MemberOut,
    MembershipOut,
    TenantOut,
    TenantWithRoleOut,
    UpdateUserRequest,
    UserOut,
    UserWithMembershipOut,
)
from meterplex.identity.users_service import NewMember
from meterplex.platform.api import AUTH_TENANT, AUTH_USER, JSON, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, tenant_access
from meterplex.platform.pagination import DEFAULT_LIMIT, Page, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Users"]
PREFIX = "/api/v1/users"
INVITATIONS = f"{PREFIX}/me/invitations"
NAMES = ("firstName", "lastName")
MEMBERSHIP = ("role", "isActive")


@router.post(
    PREFIX,
    tags=TAGS,
    summary="Add a user to the tenant (OWNER/ADMIN): a new email is created (201); an existing "
    "account is invited (202) and joins only if it accepts",
    responses={
        201: {
            "description": "A new account, member of the tenant",
            "content": {JSON: {"model": MemberOut}},
        },
        202: {
            "description": "An existing account was invited; nothing about it is revealed",
            "content": {JSON: {"model": InvitationCreatedOut}},
        },
    },
    security=AUTH_TENANT,
    status_code=201,
)
def create_user(body: Annotated[CreateUserRequest, Body()]) -> Response[MemberOut | InvitationCreatedOut]:
    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router), roles=MANAGERS)
    added = Services.users().add_to_tenant(
        access,
        email=body.email,
        password=body.password.get_secret_value(),
        first_name=body.first_name,
        last_name=body.last_name,
        role=body.role,
        actor=actor_of(router, principal),
    )
    if isinstance(added, NewMember):
        member = MemberOut(**UserOut.of(added.user).model_dump(), role=added.role)
        return Response(status_code=201, content_type=JSON, body=member)
    return Response(status_code=202, content_type=JSON, body=InvitationCreatedOut.of(added))


@router.get(
    INVITATIONS, tags=TAGS, summary="The caller's pending invitations into tenants", security=AUTH_USER
)
def my_invitations(
    page: Annotated[PageNumber, Query()] = 1, limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT
) -> Page[InvitationOut]:
    found = Services.memberships().open_invitations(principal_of(router).require_user())
    rows = [InvitationOut.of(invitation, tenant) for invitation, tenant in found]
    return Page[InvitationOut].model_validate(paginate(rows, page, limit))


@router.post(
    f"{INVITATIONS}/<invitationId>/accept",
    tags=TAGS,
    summary="Accept an invitation: join the tenant",
    security=AUTH_USER,
)
def accept_invitation(invitationId: str) -> TenantWithRoleOut:
    principal = principal_of(router)
    tenant, role = Services.memberships().accept(principal, invitationId, actor_of(router, principal))
    return TenantWithRoleOut(**TenantOut.of(tenant).model_dump(), role=role)


@router.post(
    f"{INVITATIONS}/<invitationId>/decline", tags=TAGS, summary="Decline an invitation", security=AUTH_USER
)
def decline_invitation(invitationId: str) -> InvitationOut:
    principal = principal_of(router)
    invitation = Services.memberships().decline(principal, invitationId, actor_of(router, principal))
    return InvitationOut.of(invitation, Services.deps().repo.get_tenant(invitation.tenant_id))


@router.get(
    f"{PREFIX}/<id>", tags=TAGS, summary="A user who shares a tenant with the caller", security=AUTH_USER
)
def get_user(id: str) -> UserOut:
    return UserOut.of(Services.users().visible_user(principal_of(router), id))


@router.patch(
    f"{PREFIX}/<id>",
    tags=TAGS,
    summary="Your own names; or another member's role / active status in the x-tenant-id tenant",
    security=AUTH_USER,
)
def update_user(id: str, body: Annotated[UpdateUserRequest, Body()]) -> UserWithMembershipOut:
    principal = principal_of(router)
    actor = actor_of(router, principal)
    changes = body.model_dump(by_alias=True, exclude_unset=True, mode="json")
    membership = None
    if any(k in changes for k in MEMBERSHIP):
        access = tenant_access(principal, tenant_header_of(router))
        wanted = {k: changes[k] for k in MEMBERSHIP if k in changes}
        membership = Services.memberships().update_membership(access, id, wanted, actor)
    if any(k in changes for k in NAMES):
        user = Services.users().rename(principal, id, {k: changes[k] for k in NAMES if k in changes}, actor)
    else:
        user = Services.users().visible_user(principal, id)
    out = UserOut.of(user).model_dump()
    return UserWithMembershipOut(**out, membership=MembershipOut.of(membership) if membership else None)
