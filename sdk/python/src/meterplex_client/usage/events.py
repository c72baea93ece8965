"""Building a usage event on the client: validated as the API would, with a UUIDv7 id."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from meterplex_client.ids import uuid7
from meterplex_client.usage.journal import Event

MAX_AMOUNT = 1_000_000_000
MAX_EVENT_ID = 255
MAX_FEATURE = 100
MAX_METADATA_BYTES = 2048  # the API's limit per event


def iso_utc(moment: datetime) -> str:
    """ISO 8601 with `Z`; a naive datetime is taken as UTC (as the API does)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def usage_event(
    feature: str,
    amount: int = 1,
    *,
    event_id: str | None = None,
    timestamp: datetime | str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Event:
    """The event as sent; raises `ValueError` for what the API would reject for the whole batch."""
    if not isinstance(feature, str) or not 1 <= len(feature) <= MAX_FEATURE:
        raise ValueError(f"feature must be a lookup key of 1–{MAX_FEATURE} characters")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount must be an integer from 1 to {MAX_AMOUNT:,}")
    if event_id is None:
        event_id = uuid7()
    elif not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID:
        raise ValueError(f"event_id must be a string of 1–{MAX_EVENT_ID} characters")
    if timestamp is None:
        when = datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # the hot path
    elif isinstance(timestamp, datetime):
        when = iso_utc(timestamp)
    else:
        when = iso_utc(datetime.fromisoformat(timestamp.replace("Z", "+00:00")))
    event: Event = {"eventId": event_id, "feature": feature, "amount": amount, "timestamp": when}
    if metadata is not None:
        meta = dict(metadata)
        if len(json.dumps(meta, separators=(",", ":"))) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata must serialize to at most {MAX_METADATA_BYTES} bytes")
        event["metadata"] = meta
    return event
