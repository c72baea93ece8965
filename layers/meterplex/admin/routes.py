"""/api/v1/admin/dead-letter and /api/v1/admin/overview (platform admin only; SPEC §8.4)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import Field

from meterplex.admin.dead_letters import DeadLetterService
from meterplex.admin.schemas import (
    DeadLetterOut,
    DeadLetterPage,
    DiscardRequest,
    OverviewOut,
    dead_letter_out,
)
from meterplex.platform.api import AUTH_USER, actor_of, principal_of
from meterplex.platform.audit import Actor
from meterplex.platform.dead_letters import CURSOR_FIELDS, DeadLetterStatus, search_dead_letters
from meterplex.platform.pagination import DEFAULT_LIMIT, Cursor, PageLimit, PageNumber, page_of

router = Router()
TAGS = ["Admin: dead letters"]
DeadLetterId = Annotated[str, Path(min_length=1, max_length=100, description="The dead letter's id")]
Name = Annotated[str, Field(min_length=1, max_length=255)]


@cache
def dead_letter_service() -> DeadLetterService:
    from meterplex.platform.settings import DeadLetterSettings, load
    from meterplex.testclock.invoker import LambdaInvoker

    return DeadLetterService(LambdaInvoker, load(DeadLetterSettings).targets())


def _admin() -> Actor:
    principal = principal_of(router)
    principal.require_platform_admin()
    return actor_of(router, principal)


@router.get(
    "/api/v1/admin/dead-letter",
    summary="Dead letters, newest first (platform admin; without status, consumer or tenantId: OPEN)",
    tags=TAGS,
    security=AUTH_USER,
)
def list_dead_letters(
    status: Annotated[DeadLetterStatus | None, Query()] = None,
    consumer: Annotated[Name | None, Query()] = None,
    tenant_id: Annotated[Name | None, Query(alias="tenantId")] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> DeadLetterPage:
    _admin()
    items, meta = page_of(
        lambda key, n: search_dead_letters(status, consumer, tenant_id, key, n),
        cursor=cursor,
        limit=limit,
        page=page,
        fields=CURSOR_FIELDS,
    )
    return DeadLetterPage(data=[dead_letter_out(i) for i in items], meta=meta)


@router.get("/api/v1/admin/dead-letter/<id>", summary="One dead letter", tags=TAGS, security=AUTH_USER)
def get_dead_letter(id: DeadLetterId) -> DeadLetterOut:
    _admin()
    return dead_letter_out(dead_letter_service().get(id))


@router.post(
    "/api/v1/admin/dead-letter/<id>/retry",
    summary="Re-deliver the record to the consumer that failed (idempotent): RETRIED, or OPEN + new reason",
    tags=TAGS,
    security=AUTH_USER,
)
def retry_dead_letter(id: DeadLetterId) -> DeadLetterOut:
    return dead_letter_out(dead_letter_service().retry(id, _admin()))


@router.post(
    "/api/v1/admin/dead-letter/<id>/discard",
    summary="Mark the dead letter as never needing processing, with the reason",
    tags=TAGS,
    security=AUTH_USER,
)
def discard_dead_letter(id: DeadLetterId, body: Annotated[DiscardRequest, Body()]) -> DeadLetterOut:
    return dead_letter_out(dead_letter_service().discard(id, body.reason, _admin()))


@router.get(
    "/api/v1/admin/overview",
    summary="The operator overview: tenants, subscriptions, MRR, usage today, invoices, dead letters",
    tags=["Admin: overview"],
    security=AUTH_USER,
)
def overview() -> OverviewOut:
    _admin()
    from meterplex.admin.overview import overview_service

    return overview_service().overview()
