"""The audit trail's API shapes (tenant and admin routes share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from meterplex.audit.repository import CURSOR_FIELDS, AuditFilter, AuditItem, search
from meterplex.platform.api import ApiResponse
from meterplex.platform.pagination import CursorMeta, page_of


class AuditEventOut(ApiResponse):
    id: str
    tenant_id: str = Field(description="The tenant written to; `platform` for catalog writes")
    actor: str = Field(description="`user:<id>`, `apikey:<id>`, `system` or `anonymous`")
    resource: str | None = Field(description="SPEC §8.4's name: tenant, plan, invoice, …")
    resource_id: str | None
    action: str = Field(description="create, update, delete, or the verb (finalize, void, revoke…)")
    type: str | None = Field(description="The domain event's type, e.g. `plan.created`")
    before: dict[str, Any] | None = Field(description="Public fields before the write (secrets redacted)")
    after: dict[str, Any] | None = Field(description="Public fields after the write (secrets redacted)")
    correlation_id: str | None
    occurred_at: str


class AuditEventPage(ApiResponse):
    data: list[AuditEventOut]
    meta: CursorMeta


def audit_event_out(item: AuditItem) -> AuditEventOut:
    return AuditEventOut(
        id=item.eventId,
        tenant_id=item.tenantId,
        actor=item.actor,
        resource=item.resource,
        resource_id=item.resourceId,
        action=item.action,
        type=item.type,
        before=item.before,
        after=item.after,
        correlation_id=item.correlationId,
        occurred_at=item.occurredAt,
    )


def audit_page(
    wanted: AuditFilter,
    *,
    cursor: str | None,
    limit: int,
    page: int | None,
    earliest: datetime,
    now: datetime,
) -> AuditEventPage:
    """One page of the events matching `wanted` (tenant and admin routes alike)."""
    items, meta = page_of(
        lambda key, n: search(wanted, key, n, earliest=earliest, now=now),
        cursor=cursor,
        limit=limit,
        page=page,
        fields=CURSOR_FIELDS,
    )
    return AuditEventPage(data=[audit_event_out(i) for i in items], meta=meta)
