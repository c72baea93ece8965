"""When the next attempt of a delivery is due (SPEC §8.3, ADR 0080), pure.

After failed automatic attempt n (1-based) the next one waits `RETRY_DELAYS[n - 1]` ± 10 %; after
the tenth failure the delivery is exhausted. The jitter is a function of (delivery id, n), so
recording the same attempt twice computes the same instant. A receiver's `Retry-After` (429/503)
postpones the next attempt to at least that, at most a day.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.10
MAX_RETRY_AFTER = timedelta(hours=24)
RETRY_AFTER_STATUSES = frozenset({429, 503})


def jitter_factor(delivery_id: str, failed_attempts: int) -> float:
    """A factor in [1 − JITTER, 1 + JITTER), stable for one (delivery, attempt)."""
    digest = hashlib.sha256(f"{delivery_id}:{failed_attempts}".encode()).digest()
    unit = int.from_bytes(digest[:8], "big") / 2**64
    return 1 - JITTER + 2 * JITTER * unit


def retry_delay(delivery_id: str, failed_attempts: int) -> timedelta | None:
    """How long after its `failed_attempts`-th failure a delivery waits; None: it is exhausted."""
    if failed_attempts < 1 or failed_attempts > len(RETRY_DELAYS):
        return None
    base = RETRY_DELAYS[failed_attempts - 1]
    millis = round(base.total_seconds() * 1000 * jitter_factor(delivery_id, failed_attempts))
    return timedelta(milliseconds=millis)


def next_attempt_at(
    delivery_id: str, failed_attempts: int, failed_at: datetime, retry_after: timedelta | None = None
) -> datetime | None:
    delay = retry_delay(delivery_id, failed_attempts)
    if delay is None:
        return None
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return failed_at + delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After: <seconds>` or `<HTTP date>` → how long; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(timedelta(seconds=int(text)), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return min(max(moment - now, timedelta(0)), MAX_RETRY_AFTER)
