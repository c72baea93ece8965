"""/api/v1/audit-events: the tenant's audit trail, newest first (OWNER/ADMIN; cursor, SPEC §0)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from meterplex.audit.repository import AuditFilter
from meterplex.audit.schemas import AuditEventPage, audit_page
from meterplex.platform.api import AUTH_TENANT, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, tenant_access
from meterplex.platform.clock import system_clock
from meterplex.platform.pagination import DEFAULT_LIMIT, Cursor, PageLimit, PageNumber

router = Router()


@router.get(
    "/api/v1/audit-events",
    tags=["Audit"],
    summary="The tenant's audit events, newest first (OWNER/ADMIN; cursor, `page` reads the pages before it)",
    security=AUTH_TENANT,
)
def audit_events(
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> AuditEventPage:
    access = tenant_access(principal_of(router), tenant_header_of(router), roles=MANAGERS)
    now = system_clock.now()
    wanted = AuditFilter(tenant_id=access.tenant_id)
    return audit_page(wanted, cursor=cursor, limit=limit, page=page, earliest=now, now=now)
