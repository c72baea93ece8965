"""Usage domain types and the Kafka envelope of an accepted event (pure: no AWS imports).

The usage item in DynamoDB, the message on `meterplex.usage.v1` and what the aggregator counts are
one record, `UsageRecord`; the mapping to each form is written out here (docs/events.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterplex.platform.events import ENVELOPE_VERSION, DomainEvent
from meterplex.usage.keys import UsageAttr, envelope_id

USAGE_RECORDED = "usage.recorded"


@dataclass(frozen=True)
class IncomingEvent:
    """One event of a request, as validated at the edge (shape only; the rules come later)."""

    event_id: str
    feature: str
    amount: int
    timestamp: datetime
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class UsageRecord:
    """An accepted event, with what the aggregator needs to count it (its counter's identity)."""

    tenant_id: str
    event_id: str
    feature: str
    amount: int
    timestamp: str  # ISO 8601 UTC (platform.clock.iso)
    subscription_id: str
    window_start: str  # the usage window containing `timestamp` (grant/archive key part)
    window_end: str
    received_at: str
    metadata: str | None = None  # JSON text, as the client sent it
    actor: str = "system"
    correlation_id: str | None = None
    # The ingest request that stored it and its position there: which bit of which counting
    # receipt says it was counted (ADR 0070). A record without one counts by its own receipt.
    request_id: str = ""
    request_index: int = 0

    @property
    def counter(self) -> CounterKey:
        return CounterKey(self.tenant_id, self.feature, self.subscription_id, self.window_start)

    @property
    def receipt(self) -> tuple[str, int]:
        """(receipt id, bit): the request and the event's position in it."""
        return (self.request_id, self.request_index) if self.request_id else (f"event:{self.event_id}", 0)

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            UsageAttr.EVENT_ID: self.event_id,
            UsageAttr.FEATURE: self.feature,
            UsageAttr.AMOUNT: self.amount,
            UsageAttr.TIMESTAMP: self.timestamp,
            UsageAttr.SUBSCRIPTION_ID: self.subscription_id,
            UsageAttr.WINDOW_START: self.window_start,
            UsageAttr.WINDOW_END: self.window_end,
            UsageAttr.RECEIVED_AT: self.received_at,
        }
        if self.request_id:
            data[UsageAttr.REQUEST_ID] = self.request_id
            data[UsageAttr.REQUEST_INDEX] = self.request_index
        if self.metadata is not None:
            data[UsageAttr.METADATA] = json.loads(self.metadata)
        return data

    def envelope(self) -> DomainEvent:
        """The `meterplex.usage.v1` message (envelope version 1, docs/events.md)."""
        return DomainEvent(
            type=USAGE_RECORDED,
            tenantId=self.tenant_id,
            occurredAt=self.timestamp,
            data=self.data(),
            actor=self.actor,
            correlationId=self.correlation_id,
            id=envelope_id(self.tenant_id, self.event_id),
            version=ENVELOPE_VERSION,
        )


@dataclass(frozen=True)
class CounterKey:
    """One usage counter (ADR 0013): a tenant's feature, in one subscription's usage window."""

    tenant_id: str
    feature: str
    subscription_id: str
    window_start: str


def _text(data: dict[str, Any], name: str, *, max_length: int = 2048) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise ValueError(f"usage event data.{name} must be a non-empty string")
    return value


def record_from_envelope(raw: str | bytes) -> UsageRecord:
    """Parse a `meterplex.usage.v1` message; ValueError when it is not one (a poison record)."""
    event = DomainEvent.from_json(raw)
    if event.type != USAGE_RECORDED:
        raise ValueError(f"unexpected event type {event.type!r} on the usage topic")
    if event.version != ENVELOPE_VERSION:
        raise ValueError(f"unsupported envelope version {event.version!r}")
    data = event.data
    if not isinstance(data, dict):
        raise ValueError("usage event data must be an object")
    amount = data.get(UsageAttr.AMOUNT)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError("usage event data.amount must be an integer ≥ 1")
    if not isinstance(event.tenantId, str) or not event.tenantId:
        raise ValueError("usage event tenantId must be a non-empty string")
    metadata = data.get(UsageAttr.METADATA)
    request_id = data.get(UsageAttr.REQUEST_ID) or ""
    request_index = data.get(UsageAttr.REQUEST_INDEX, 0)
    if not isinstance(request_id, str) or len(request_id) > 64:
        raise ValueError("usage event data.requestId must be a string")
    if (
        isinstance(request_index, bool)
        or not isinstance(request_index, int)
        or not 0 <= request_index < 10_000
    ):
        raise ValueError("usage event data.requestIndex must be an integer in [0, 10000)")
    return UsageRecord(
        tenant_id=event.tenantId,
        event_id=_text(data, UsageAttr.EVENT_ID, max_length=255),
        feature=_text(data, UsageAttr.FEATURE),
        amount=amount,
        timestamp=_text(data, UsageAttr.TIMESTAMP),
        subscription_id=_text(data, UsageAttr.SUBSCRIPTION_ID),
        window_start=_text(data, UsageAttr.WINDOW_START),
        window_end=_text(data, UsageAttr.WINDOW_END),
        received_at=_text(data, UsageAttr.RECEIVED_AT),
        metadata=None if metadata is None else json.dumps(metadata, separators=(",", ":")),
        actor=event.actor,
        correlation_id=event.correlationId,
        request_id=request_id,
        request_index=request_index,
    )
