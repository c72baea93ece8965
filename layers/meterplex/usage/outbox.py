"""The usage table is its own outbox (ADR 0020): the relay's mapper from a usage event item (a
stream record's NewImage) to its `meterplex.usage.v1` message. Pure: no AWS client, no table model."""

from __future__ import annotations

from typing import Any

from meterplex.platform import topics
from meterplex.platform.relay import OutboxMessage
from meterplex.usage.items import record_from_item


def usage_message(sequence_number: str, image: dict[str, Any]) -> OutboxMessage:
    """The `usage.recorded` message of a usage event item (key = tenant id); ValueError if not one."""
    record = record_from_item(image)
    return OutboxMessage(
        sequence_number,
        topics.USAGE,
        record.tenant_id,
        record.envelope().to_json(),
        record.correlation_id,
        record.event_id,  # the tenant's own event id: what a user greps for
    )
