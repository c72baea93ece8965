"""A plan's entitlements: reads for any authenticated caller, writes for a platform admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.catalog.dependencies import catalog_service, created, no_content, platform_admin
from meterplex.catalog.schemas import (
    CreateEntitlementRequest,
    EntitlementOut,
    EntitlementPage,
    UpdateEntitlementRequest,
    entitlement_out,
)
from meterplex.platform.api import AUTH_USER, principal_of
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Entitlements"]
PlanId = Annotated[str, Path(max_length=100)]
EntitlementId = Annotated[str, Path(max_length=100)]


@router.post(
    "/api/v1/plans/<planId>/entitlements",
    summary="Map a feature to a plan (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
    status_code=201,
)
def create_entitlement(
    planId: PlanId, body: Annotated[CreateEntitlementRequest, Body()]
) -> Response[EntitlementOut]:
    actor = platform_admin(router)
    entitlement = catalog_service().create_entitlement(planId, body.feature_id, body.provided_terms(), actor)
    return created(entitlement_out(entitlement))


@router.get(
    "/api/v1/plans/<planId>/entitlements", summary="List a plan's entitlements", tags=TAGS, security=AUTH_USER
)
def list_entitlements(
    planId: PlanId,
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> EntitlementPage:
    principal_of(router)
    items = [entitlement_out(e) for e in catalog_service().list_entitlements(planId)]
    return EntitlementPage.model_validate(paginate(items, page, limit))


@router.get(
    "/api/v1/plans/<planId>/entitlements/<entitlementId>",
    summary="Get an entitlement",
    tags=TAGS,
    security=AUTH_USER,
)
def get_entitlement(planId: PlanId, entitlementId: EntitlementId) -> EntitlementOut:
    principal_of(router)
    return entitlement_out(catalog_service().get_entitlement(planId, entitlementId))


@router.patch(
    "/api/v1/plans/<planId>/entitlements/<entitlementId>",
    summary="Update an entitlement's terms (platform admin); existing subscriptions keep their snapshot",
    tags=TAGS,
    security=AUTH_USER,
)
def update_entitlement(
    planId: PlanId, entitlementId: EntitlementId, body: Annotated[UpdateEntitlementRequest, Body()]
) -> EntitlementOut:
    actor = platform_admin(router)
    entitlement = catalog_service().update_entitlement(planId, entitlementId, body.provided_terms(), actor)
    return entitlement_out(entitlement)


@router.delete(
    "/api/v1/plans/<planId>/entitlements/<entitlementId>",
    summary="Remove an entitlement (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
    status_code=204,
)
def delete_entitlement(planId: PlanId, entitlementId: EntitlementId) -> Response[None]:
    actor = platform_admin(router)
    catalog_service().delete_entitlement(planId, entitlementId, actor)
    return no_content()
