"""Time, always UTC. Services take a `Clock` so tests can pin or move time.

Two clocks, two kinds of time:
* `business_clock` — periods, trials, usage windows and timestamp checks, invoice dates, retries,
  schedules. In production it is the system time at zero cost; in the local cloud and test stages
  it is the *test clock* (SPEC §8.1, ADR 0050): frozen, offset or real, as the state item says.
* `system_clock` — security time (token and key expiry, rate limits, reset tokens) and record
  keeping (audit, log and dead-letter timestamps). Advancing the test clock never touches it.

Exactness: the state is read with one strongly consistent GetItem per invocation
(`invocation_scope` / `per_invocation`; outside a scope, on every `now()`), so every invocation
that starts after an advance wrote a state sees it. This module imports no AWS code: the store is
imported only when the test clock is enabled.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock for tests: stands still until moved."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


system_clock = SystemClock()


@dataclass(frozen=True)
class ClockState:
    """What the test clock says: frozen at an instant, or running at real time + offset."""

    frozen_at: datetime | None = None
    offset: timedelta = timedelta(0)

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def is_real_time(self) -> bool:
        return self.frozen_at is None and not self.offset

    def business_time(self, real: datetime) -> datetime:
        return self.frozen_at if self.frozen_at is not None else real + self.offset


REAL_TIME = ClockState()


class ClockStateReader(Protocol):
    def read(self) -> ClockState: ...


# One memo per invocation (and per thread: the local cloud runs functions on many threads),
# keyed by clock, so an invocation sees one consistent state and pays one read.
_memo: ContextVar[dict[int, ClockState] | None] = ContextVar("business_clock_memo", default=None)


@contextmanager
def invocation_scope() -> Iterator[None]:
    """Business time inside is read at most once per clock (the first `now()` reads the state)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


F = TypeVar("F", bound=Callable[..., Any])


def per_invocation(handler: F) -> F:
    """Decorate a Lambda handler: one test-clock read per invocation, however often it asks."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with invocation_scope():
            return handler(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class BusinessClock:
    """The platform's one clock for business time (see the module docstring).

    `enabled` comes from `MP_TEST_CLOCK` / the stage (`ClockSettings`) on first use unless given;
    `reader` is the state store (default: the core table's CLOCK item), or a factory of one.
    """

    def __init__(
        self,
        reader: ClockStateReader | Callable[[], ClockStateReader] | None = None,
        *,
        enabled: bool | None = None,
        system: Clock = system_clock,
    ) -> None:
        self._source = reader
        self._reader: ClockStateReader | None = None
        self._enabled = enabled
        self._system = system

    @property
    def enabled(self) -> bool:
        if self._enabled is None:
            from meterplex.platform.settings import ClockSettings, load

            self._enabled = load(ClockSettings).test_clock_enabled
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        """Benchmarks and tests only: switch the test clock on or off for this process."""
        self._enabled = value

    def now(self) -> datetime:
        real = self._system.now()
        if not self.enabled:
            return real
        return self.state().business_time(real)

    def state(self) -> ClockState:
        if not self.enabled:
            return REAL_TIME
        memo = _memo.get()
        if memo is None:
            return self._read()
        state = memo.get(id(self))
        if state is None:
            state = memo[id(self)] = self._read()
        return state

    def _read(self) -> ClockState:
        if self._reader is None:
            self._reader = self._resolve_reader()
        return self._reader.read()

    def _resolve_reader(self) -> ClockStateReader:
        source = self._source
        if source is None:
            from meterplex.platform.clock_store import ClockStore

            return ClockStore()
        if hasattr(source, "read"):
            return source
        return source()


business_clock = BusinessClock()


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision."""
    # isoformat (C) rather than strftime: ingest spells three of these per usage event
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def epoch_s(moment: datetime) -> int:
    return int(moment.timestamp())
