"""Fixed-window rate limits stored in DynamoDB (atomic counters with TTL).

Two kinds: `consume` counts every request and refuses past the budget (the count is one atomic ADD,
so it is exact under concurrency); `reserve` takes one of a budget's slots with a conditional write
*before* the expensive or sensitive work (a password check), so N parallel attempts can never all
pass a check made before any of them was counted — `release` gives the slot back when the attempt
should not count (a successful login).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from meterplex.platform.errors import RateLimited


class WindowStore(Protocol):
    def hit_window(self, scope: str, subject: str, window_start: datetime, window: timedelta) -> int: ...

    def reserve_hit(
        self, scope: str, subject: str, window_start: datetime, window: timedelta, max_hits: int
    ) -> bool: ...

    def release_hit(self, scope: str, subject: str, window_start: datetime) -> None: ...


@dataclass(frozen=True)
class Limit:
    scope: str  # e.g. "login-ip"
    max_hits: int
    window: timedelta


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)


def _retry_after(now: datetime, limit: Limit) -> int:
    end = window_start(now, limit.window) + limit.window
    return max(1, int((end - now).total_seconds()) + 1)


def _too_many(now: datetime, limit: Limit) -> RateLimited:
    return RateLimited("Too many requests; try again later", retry_after_s=_retry_after(now, limit))


def consume(store: WindowStore, limit: Limit, subject: str, now: datetime) -> None:
    """Count a request; `RateLimited` (429 + Retry-After) once the window's budget is spent."""
    hits = store.hit_window(limit.scope, subject, window_start(now, limit.window), limit.window)
    if hits > limit.max_hits:
        raise _too_many(now, limit)


def reserve(store: WindowStore, limit: Limit, subject: str, now: datetime) -> None:
    """Take one slot of the window's budget, atomically; `RateLimited` when none is left."""
    start = window_start(now, limit.window)
    if not store.reserve_hit(limit.scope, subject, start, limit.window, limit.max_hits):
        raise _too_many(now, limit)


def release(store: WindowStore, limit: Limit, subject: str, reserved_at: datetime) -> None:
    """Give back the slot `reserve` took at `reserved_at` (same window)."""
    store.release_hit(limit.scope, subject, window_start(reserved_at, limit.window))
