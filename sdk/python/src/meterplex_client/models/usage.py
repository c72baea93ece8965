"""Usage ingestion (SPEC §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex_client.models.base import Body, Model

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


class UsageEvent(Body):
    event_id: str
    feature: str
    amount: int
    timestamp: datetime
    metadata: dict[str, Any] | None = None


class UsageBatch(Body):
    events: list[UsageEvent]


class EventStatus(Model):
    event_id: str
    status: str
    reason: str | None = None


class UsageBatchResult(Model):
    accepted: int
    duplicates: int
    rejected: int
    events: list[EventStatus]
