"""The dead-letter store: records a consumer can never process, kept with the reason.

Nothing is dropped silently: a poison record is written here (and the batch moves on), so an
operator can inspect, fix and replay it.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute

from meterplex.platform.clock import iso
from meterplex.platform.core_table import CoreItem


class DeadLetterItem(CoreItem):
    consumer = UnicodeAttribute()
    source = UnicodeAttribute()  # e.g. "<topic>-<partition>@<offset>"
    reason = UnicodeAttribute()
    payload = UnicodeAttribute()
    failedAt = UnicodeAttribute()


def dead_letter(*, consumer: str, source: str, reason: str, payload: str, at: datetime) -> None:
    """Store a poison record; the same source stored twice stays one item."""
    DeadLetterItem(
        f"DEADLETTER#{consumer}",
        source,
        consumer=consumer,
        source=source,
        reason=reason[:1000],
        payload=payload[:100_000],
        failedAt=iso(at),
    ).save()


def dead_letters(consumer: str) -> list[DeadLetterItem]:
    return list(DeadLetterItem.query(f"DEADLETTER#{consumer}"))
