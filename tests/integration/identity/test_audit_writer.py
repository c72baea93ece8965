"""audit_writer: idempotent under replays, poison records dead-lettered, the rest processed."""

from __future__ import annotations

from datetime import UTC, datetime

from meterplex.platform import audit, topics
from meterplex.platform.events import DomainEvent
from tests.support.api_client import runner
from tests.support.kafka_events import batch


def domain_event(tenant_id: str, action: str) -> DomainEvent:
    return audit.event(
        action,
        actor=audit.Actor("user:u1"),
        at=datetime.now(UTC),
        tenant_id=tenant_id,
        resource="tenant",
        resource_id=tenant_id,
        after={"name": "x"},
    )


def test_replayed_batch_changes_nothing_and_poison_is_dead_lettered(moto_endpoint: str) -> None:
    from meterplex.audit.repository import AuditFilter, search
    from meterplex.platform.dead_letters import dead_letters

    tenant = f"t-{datetime.now(UTC).timestamp()}"
    good = [domain_event(tenant, "tenant.created"), domain_event(tenant, "tenant.updated")]
    not_audit = DomainEvent.new("subscription.renewed", tenant_id=tenant, at=datetime.now(UTC), data={})
    values = [good[0].to_json().encode(), b"{not an envelope", good[1].to_json().encode()]
    values.append(not_audit.to_json().encode())
    event = batch(topics.DOMAIN, values, first_offset=1000)

    first = runner().invoke("audit_writer", event)
    replay = runner().invoke("audit_writer", event)

    assert first == replay == {"batchItemFailures": []}
    now = datetime.now(UTC)
    kept, _ = search(AuditFilter(tenant_id=tenant), None, 10, earliest=now, now=now)
    # THEN each audit event is kept once; a domain event that is not an audit record is not
    assert sorted(item.action for item in kept) == ["create", "update"]
    assert sorted(str(item.type) for item in kept) == ["tenant.created", "tenant.updated"]
    poison = [d for d in dead_letters("audit_writer") if d.source == f"{topics.DOMAIN}-0@1001"]
    assert len(poison) == 1 and poison[0].payload == "{not an envelope"
