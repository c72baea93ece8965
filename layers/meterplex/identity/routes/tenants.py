"""/api/v1/tenants: the caller's tenants."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from meterplex.identity.routes import Services
from meterplex.identity.schemas import (
    CreateTenantRequest,
    TenantContextOut,
    TenantOut,
    TenantWithRoleOut,
    UpdateTenantRequest,
)
from meterplex.platform.api import AUTH_TENANT, AUTH_USER, JSON, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import Role, tenant_access
from meterplex.platform.pagination import DEFAULT_LIMIT, Page, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Tenants"]
PREFIX = "/api/v1/tenants"


@router.post(
    PREFIX,
    tags=TAGS,
    summary="Create a tenant (the caller becomes its OWNER)",
    security=AUTH_USER,
    status_code=201,
)
def create_tenant(body: Annotated[CreateTenantRequest, Body()]) -> Response[TenantWithRoleOut]:
    principal = principal_of(router)
    tenant = Services.tenants().create_tenant(
        principal.require_user(),
        name=body.name,
        slug=body.slug,
        metadata=body.metadata,
        actor=actor_of(router, principal),
    )
    out = TenantWithRoleOut(**TenantOut.of(tenant).model_dump(), role=Role.OWNER)
    return Response(status_code=201, content_type=JSON, body=out)


@router.get(PREFIX, tags=TAGS, summary="The caller's tenants, with the caller's role", security=AUTH_USER)
def list_tenants(
    page: Annotated[PageNumber, Query()] = 1, limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT
) -> Page[TenantWithRoleOut]:
    pairs = Services.tenants().tenants_of(principal_of(router).require_user())
    rows = [TenantWithRoleOut(**TenantOut.of(t).model_dump(), role=r) for t, r in pairs]
    return Page[TenantWithRoleOut].model_validate(paginate(rows, page, limit))


@router.get(
    f"{PREFIX}/me/context",
    tags=TAGS,
    summary="The current tenant, the caller's role, the subscription",
    security=AUTH_TENANT,
)
def tenant_context() -> TenantContextOut:
    # Only this route needs the subscriptions capability: import it here, not at cold start.
    from meterplex.subscriptions.summary import active_subscription_summary

    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router))
    return TenantContextOut(
        tenant=TenantOut.of(Services.tenants().tenant_of(access.tenant_id)),
        role=access.role,
        auth_type=principal.auth_type.value,
        subscription=active_subscription_summary(access.tenant_id),
    )


@router.get(f"{PREFIX}/slug/<slug>", tags=TAGS, summary="A tenant of the caller, by slug", security=AUTH_USER)
def tenant_by_slug(slug: str) -> TenantOut:
    tenant = Services.tenants().tenant_by_slug(principal_of(router), slug, tenant_header_of(router))
    return TenantOut.of(tenant)


@router.get(f"{PREFIX}/<id>", tags=TAGS, summary="A tenant of the caller, by id", security=AUTH_USER)
def get_tenant(id: str) -> TenantOut:
    return TenantOut.of(Services.tenants().visible_tenant(principal_of(router), id, tenant_header_of(router)))


@router.patch(f"{PREFIX}/<id>", tags=TAGS, summary="Update a tenant (OWNER/ADMIN)", security=AUTH_USER)
def update_tenant(id: str, body: Annotated[UpdateTenantRequest, Body()]) -> TenantOut:
    principal = principal_of(router)
    changes = body.model_dump(by_alias=True, exclude_unset=True, mode="json")
    tenant = Services.tenants().update_tenant(
        principal, id, tenant_header_of(router), changes, actor_of(router, principal)
    )
    return TenantOut.of(tenant)


@router.delete(
    f"{PREFIX}/<id>/members/<userId>",
    tags=TAGS,
    summary="Remove a member (OWNER/ADMIN; OWNER to remove an OWNER), or leave the tenant",
    security=AUTH_USER,
    status_code=204,
    responses={204: {"description": "The membership is gone"}},
)
def remove_member(id: str, userId: str) -> Response[None]:
    principal = principal_of(router)
    Services.memberships().remove(
        principal, id, tenant_header_of(router), userId, actor_of(router, principal)
    )
    return Response(status_code=204, body=None)
