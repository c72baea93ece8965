"""The transactional outbox: a domain event written in the same DynamoDB transaction as the change.

The core table's stream (filtered to INSERTs of items with an `outbox` attribute) feeds
`outbox_relay`, which publishes the event to Kafka. The item expires after a day (TTL): by then the
stream has long delivered it, and the stream keeps 24 h of history.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import UnicodeAttribute

from meterplex.platform.clock import epoch_s, parse_iso
from meterplex.platform.core_table import CoreItem
from meterplex.platform.events import DomainEvent

OUTBOX_TTL = timedelta(days=1)


class OutboxItem(CoreItem):
    outbox = UnicodeAttribute()  # the Kafka topic; its presence is what the stream filter selects
    payload = UnicodeAttribute()  # the event envelope, JSON


def outbox_item(event: DomainEvent, topic: str) -> OutboxItem:
    """The item to add to a transaction so that `event` reaches `topic` exactly when it commits."""
    occurred = parse_iso(event.occurredAt)
    return OutboxItem(
        pk=f"OUTBOX#{event.tenantId}",
        sk=f"EVENT#{event.id}",
        outbox=topic,
        payload=event.to_json(),
        expiresAt=epoch_s(occurred + OUTBOX_TTL),
    )
