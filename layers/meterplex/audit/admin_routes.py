"""/api/v1/admin/audit-logs: every tenant's audit events for platform admins (SPEC §8.4), served
by the indexes of `meterplex.audit.repository` (no Scan)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from meterplex.audit.repository import AuditFilter, audit_event
from meterplex.audit.schemas import AuditEventOut, AuditEventPage, audit_event_out, audit_page
from meterplex.platform.api import AUTH_USER, principal_of
from meterplex.platform.clock import system_clock
from meterplex.platform.errors import InvalidInput, NotFound
from meterplex.platform.pagination import DEFAULT_LIMIT, Cursor, PageLimit, PageNumber

router = Router()
TAGS = ["Admin: audit"]
# Without startDate the month index is read back this far from endDate (each empty month: one Query).
DEFAULT_WINDOW = timedelta(days=366)
MAX_WALK = timedelta(days=3 * 366)  # the widest month walk (36 Queries at most, empty months included)
Name = Annotated[str, Field(min_length=1, max_length=255)]


@router.get(
    "/api/v1/admin/audit-logs",
    summary="Audit events of every tenant, newest first (platform admin; filters, cursor)",
    tags=TAGS,
    security=AUTH_USER,
)
def list_audit_logs(
    tenant_id: Annotated[Name | None, Query(alias="tenantId")] = None,
    actor_id: Annotated[
        Name | None, Query(alias="actorId", description="`user:<id>`, `apikey:<id>`, `system`")
    ] = None,
    resource: Annotated[Name | None, Query()] = None,
    action: Annotated[Name | None, Query()] = None,
    start_date: Annotated[datetime | None, Query(alias="startDate")] = None,
    end_date: Annotated[datetime | None, Query(alias="endDate")] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> AuditEventPage:
    principal_of(router).require_platform_admin()
    start, end = _utc(start_date, "startDate"), _utc(end_date, "endDate")
    if start and end and start > end:
        raise InvalidInput("startDate is after endDate", code="INVALID_DATE_RANGE")
    wanted = AuditFilter(tenant_id, actor_id, resource, action, start, end)
    now = system_clock.now()
    earliest = (end or now) - DEFAULT_WINDOW
    if not (tenant_id or actor_id or resource) and (end or now) - (start or earliest) > MAX_WALK:
        # every month of the range is one Query: bound what one page may cost
        raise InvalidInput(
            "Without tenantId, actorId or resource the date range is at most 3 years",
            code="INVALID_DATE_RANGE",
        )
    return audit_page(wanted, cursor=cursor, limit=limit, page=page, earliest=earliest, now=now)


@router.get(
    "/api/v1/admin/audit-logs/<id>",
    summary="One audit event (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
)
def get_audit_log(id: Annotated[str, Path(min_length=1, max_length=100)]) -> AuditEventOut:
    principal_of(router).require_platform_admin()
    item = audit_event(id)
    if item is None:
        raise NotFound(f"Audit event {id} not found", code="AUDIT_EVENT_NOT_FOUND")
    return audit_event_out(item)


def _utc(moment: datetime | None, field: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} needs a time zone (e.g. Z)", code="INVALID_DATE")
    return moment.astimezone(system_clock.now().tzinfo)
