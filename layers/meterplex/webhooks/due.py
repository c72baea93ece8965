"""The test clock's view of the webhook retries (ADR 0081): the `webhook-retries` schedule's
next-work hint and its completion check, read from the due index (admin_api runs both)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from meterplex.platform.clock import parse_iso
from meterplex.webhooks.repository import WebhookRepository


@cache
def _repository() -> WebhookRepository:
    return WebhookRepository()


def next_due_at(after: datetime) -> datetime | None:
    """When the sweep next has work: the earliest `nextAttemptAt` of a PENDING delivery (None:
    nothing pending). `after` is the instant advance stands at; an earlier answer is overdue work."""
    return _repository().next_due_at()


def sweep_completed(result: Mapping[str, Any]) -> bool:
    """Done when no delivery due by the sweep's time is left (each was attempted and recorded:
    moved to its next attempt, or finished)."""
    as_of = parse_iso(str(result["asOf"]))
    earliest = _repository().next_due_at()
    return earliest is None or earliest > as_of
