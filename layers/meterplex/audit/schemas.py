"""The audit trail's API shapes (tenant and admin routes share them)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from meterplex.audit.repository import AuditItem
from meterplex.platform.api import ApiResponse
from meterplex.platform.pagination import CursorMeta


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
