"""The transactional outbox: a domain event written in the same DynamoDB transaction as the change.

The core table's stream (filtered to INSERTs of items with an `outbox` attribute) feeds
`outbox_relay`, which publishes the event to Kafka. The item expires after a day (TTL): by then the
stream has long delivered it, and the stream keeps 24 h of history.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from pynamodb.attributes import UnicodeAttribute
from pynamodb.transactions import TransactWrite

from meterplex.platform import topics
from meterplex.platform.clock import epoch_s, parse_iso
from meterplex.platform.core_table import CoreItem
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import current_trace_header

OUTBOX_TTL = timedelta(days=1)


class OutboxItem(CoreItem):
    outbox = UnicodeAttribute()  # the Kafka topic; its presence is what the stream filter selects
    payload = UnicodeAttribute()  # the event envelope, JSON
    # the writing invocation's X-Ray trace header (AWS, active tracing): on the Kafka message (ADR 0105)
    traceHeader = UnicodeAttribute(null=True)


def outbox_item(event: DomainEvent, topic: str) -> OutboxItem:
    """The item to add to a transaction so that `event` reaches `topic` exactly when it commits."""
    occurred = parse_iso(event.occurredAt)
    return OutboxItem(
        pk=f"OUTBOX#{event.tenantId}",
        sk=f"EVENT#{event.id}",
        outbox=topic,
        payload=event.to_json(),
        traceHeader=current_trace_header(),
        expiresAt=epoch_s(occurred + OUTBOX_TTL),
    )


def stage_events(tx: TransactWrite, events: Iterable[DomainEvent], topic: str = topics.DOMAIN) -> None:
    """Add each event's outbox item to `tx` (a write's transaction): an audit event
    (`platform.audit.event`) reaches the audit trail exactly when the write commits."""
    for event in events:
        tx.save(outbox_item(event, topic))


def publish_alone(event: DomainEvent, topic: str = topics.DOMAIN) -> None:
    """Put one event's outbox item on its own — only for a write that is not one transaction (the
    test clock's advance: many conditional moves). Everywhere else: `stage_events`."""
    outbox_item(event, topic).save()
