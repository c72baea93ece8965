"""/api/v1/audit-events: the tenant's audit trail, newest first (OWNER/ADMIN)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from meterplex.audit.repository import trail
from meterplex.platform.api import AUTH_TENANT, ApiResponse, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, tenant_access

router = Router()
MAX_EVENTS = 100


class AuditEventOut(ApiResponse):
    id: str
    action: str
    actor: str
    resource: str | None
    resource_id: str | None
    changes: dict[str, Any] | None
    correlation_id: str | None
    occurred_at: str


class AuditEventsOut(ApiResponse):
    data: list[AuditEventOut]


@router.get(
    "/api/v1/audit-events",
    tags=["Audit"],
    summary="The tenant's latest audit events (OWNER/ADMIN)",
    security=AUTH_TENANT,
)
def audit_events(limit: Annotated[int, Query(), Field(ge=1, le=MAX_EVENTS)] = 50) -> AuditEventsOut:
    access = tenant_access(principal_of(router), tenant_header_of(router), roles=MANAGERS)
    rows = [
        AuditEventOut(
            id=item.eventId,
            action=item.action,
            actor=item.actor,
            resource=item.resource,
            resource_id=item.resourceId,
            changes=item.changes,
            correlation_id=item.correlationId,
            occurred_at=item.occurredAt,
        )
        for item in trail(access.tenant_id, limit)
    ]
    return AuditEventsOut(data=rows)
