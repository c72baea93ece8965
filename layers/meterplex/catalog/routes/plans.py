"""Plans: reads are public (ADR 0010), writes need a platform admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.catalog.dependencies import catalog_service, created, platform_admin
from meterplex.catalog.schemas import CreatePlanRequest, PlanOut, PlanPage, UpdatePlanRequest, plan_out
from meterplex.platform.api import AUTH_USER
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Plans"]


@router.post(
    "/api/v1/plans", summary="Create a plan (platform admin)", tags=TAGS, security=AUTH_USER, status_code=201
)
def create_plan(body: Annotated[CreatePlanRequest, Body()]) -> Response[PlanOut]:
    actor = platform_admin(router)
    plan = catalog_service().create_plan(**body.model_dump(), actor=actor)
    return created(plan_out(plan))


@router.get("/api/v1/plans", summary="List plans (public)", tags=TAGS)
def list_plans(
    include_archived: Annotated[bool, Query(alias="includeArchived")] = False,
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> PlanPage:
    plans = [plan_out(p) for p in catalog_service().list_plans(include_archived=include_archived)]
    return PlanPage.model_validate(paginate(plans, page, limit))


@router.get("/api/v1/plans/slug/<slug>", summary="Get a plan by slug (public)", tags=TAGS)
def get_plan_by_slug(slug: Annotated[str, Path(max_length=100)]) -> PlanOut:
    return plan_out(catalog_service().get_plan_by_slug(slug))


@router.get("/api/v1/plans/<planId>", summary="Get a plan (public)", tags=TAGS)
def get_plan(planId: Annotated[str, Path(max_length=100)]) -> PlanOut:
    return plan_out(catalog_service().get_plan(planId))


@router.patch(
    "/api/v1/plans/<planId>",
    summary="Update or archive a plan (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
)
def update_plan(
    planId: Annotated[str, Path(max_length=100)], body: Annotated[UpdatePlanRequest, Body()]
) -> PlanOut:
    actor = platform_admin(router)
    plan = catalog_service().update_plan(planId, body.model_dump(exclude_unset=True), actor)
    return plan_out(plan)
