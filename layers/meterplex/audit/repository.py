"""Audit trail items: `AUDIT#<tenant>` / `<occurredAt>#<eventId>` — a tenant's trail in time order."""

from __future__ import annotations

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from meterplex.platform.core_table import CoreItem, condition_failed
from meterplex.platform.events import DomainEvent


class AuditItem(CoreItem):
    eventId = UnicodeAttribute()
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    tenantId = UnicodeAttribute()
    resource = UnicodeAttribute(null=True)
    resourceId = UnicodeAttribute(null=True)
    changes = JSONAttribute(null=True)
    correlationId = UnicodeAttribute(null=True)
    occurredAt = UnicodeAttribute()


def audit_key(event: DomainEvent) -> tuple[str, str]:
    return f"AUDIT#{event.tenantId}", f"{event.occurredAt}#{event.id}"


def keep_in_trail(event: DomainEvent) -> bool:
    """Keep `event` in its tenant's trail; False when it was already there (a replay)."""
    pk, sk = audit_key(event)
    item = AuditItem(
        pk,
        sk,
        eventId=event.id,
        action=event.type,
        actor=event.actor,
        tenantId=event.tenantId,
        resource=event.data.get("resource"),
        resourceId=event.data.get("resourceId"),
        changes=event.data.get("changes"),
        correlationId=event.correlationId,
        occurredAt=event.occurredAt,
    )
    try:
        item.save(condition=AuditItem.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def trail(tenant_id: str, limit: int = 100) -> list[AuditItem]:
    return list(AuditItem.query(f"AUDIT#{tenant_id}", scan_index_forward=False, limit=limit))
