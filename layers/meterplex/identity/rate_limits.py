"""Fixed-window rate limits stored in DynamoDB (atomic counters with TTL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from meterplex.platform.errors import RateLimited


class WindowStore(Protocol):
    def hit_window(self, scope: str, subject: str, window_start: datetime, window: timedelta) -> int: ...

    def window_hits(self, scope: str, subject: str, window_start: datetime) -> int: ...


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


def ensure_budget(store: WindowStore, limit: Limit, subject: str, now: datetime) -> None:
    """Refuse when the window is already spent, without counting (e.g. before a login attempt)."""
    if store.window_hits(limit.scope, subject, window_start(now, limit.window)) >= limit.max_hits:
        raise _too_many(now, limit)


def record(store: WindowStore, limit: Limit, subject: str, now: datetime) -> None:
    """Count an event (e.g. a failed login) without refusing anything now."""
    store.hit_window(limit.scope, subject, window_start(now, limit.window), limit.window)
