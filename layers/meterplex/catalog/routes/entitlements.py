"""A plan's entitlements: reads for any authenticated caller, writes for a platform admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.catalog.dependencies import catalog_service, created, no_content
from meterplex.catalog.schemas import (
    CreateEntitlementRequest,
    EntitlementOut,
    EntitlementPage,
    UpdateEntitlementRequest,
    entitlement_out,
)
from meterplex.platform.api import principal_of
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Entitlements"]
PlanId = Annotated[str, Path(max_length=100)]
EntitlementId = Annotated[str, Path(max_length=100)]


@router.post(
    "/api/v1/plans/<plan_id>/entitlements", summary="Map a feature to a plan (platform admin)", tags=TAGS
)
def create_entitlement(
    plan_id: PlanId, body: Annotated[CreateEntitlementRequest, Body()]
) -> Response[EntitlementOut]:
    principal_of(router).require_platform_admin()
    entitlement = catalog_service().create_entitlement(plan_id, body.feature_id, body.provided_terms())
    return created(entitlement_out(entitlement))


@router.get("/api/v1/plans/<plan_id>/entitlements", summary="List a plan's entitlements", tags=TAGS)
def list_entitlements(
    plan_id: PlanId,
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> EntitlementPage:
    principal_of(router)
    items = [entitlement_out(e) for e in catalog_service().list_entitlements(plan_id)]
    return EntitlementPage.model_validate(paginate(items, page, limit))


@router.get("/api/v1/plans/<plan_id>/entitlements/<entitlement_id>", summary="Get an entitlement", tags=TAGS)
def get_entitlement(plan_id: PlanId, entitlement_id: EntitlementId) -> EntitlementOut:
    principal_of(router)
    return entitlement_out(catalog_service().get_entitlement(plan_id, entitlement_id))


@router.patch(
    "/api/v1/plans/<plan_id>/entitlements/<entitlement_id>",
    summary="Update an entitlement's terms (platform admin); existing subscriptions keep their snapshot",
    tags=TAGS,
)
def update_entitlement(
    plan_id: PlanId, entitlement_id: EntitlementId, body: Annotated[UpdateEntitlementRequest, Body()]
) -> EntitlementOut:
    principal_of(router).require_platform_admin()
    entitlement = catalog_service().update_entitlement(plan_id, entitlement_id, body.provided_terms())
    return entitlement_out(entitlement)


@router.delete(
    "/api/v1/plans/<plan_id>/entitlements/<entitlement_id>",
    summary="Remove an entitlement (platform admin)",
    tags=TAGS,
)
def delete_entitlement(plan_id: PlanId, entitlement_id: EntitlementId) -> Response[None]:
    principal_of(router).require_platform_admin()
    catalog_service().delete_entitlement(plan_id, entitlement_id)
    return no_content()
