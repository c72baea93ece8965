"""In-memory stand-ins for the test clock's ports: the CLOCK item and Lambda Invoke."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from meterplex.platform.clock import REAL_TIME, ClockState, FixedClock
from meterplex.platform.clock_store import ClockRecord, clock_busy
from meterplex.testclock.service import InvocationFailed


class FakeClockRepository:
    """ClockStore's semantics: a lease taken conditionally, owner-conditional writes."""

    def __init__(self) -> None:
        self.record = ClockRecord(REAL_TIME)
        self.moves: list[datetime] = []

    def read_record(self) -> ClockRecord:
        return self.record

    def acquire(self, owner: str, *, until_epoch: int, now_epoch: int) -> ClockRecord:
        if self.record.leased(now_epoch):
            raise clock_busy()
        self.record = replace(self.record, lease_owner=owner, lease_until=until_epoch)
        return self.record

    def _own(self, owner: str) -> None:
        if self.record.lease_owner != owner:
            raise clock_busy()

    def move(self, owner: str, *, frozen_at: datetime, fired_through: datetime) -> None:
        self._own(owner)
        self.moves.append(frozen_at)
        self.record = replace(self.record, state=ClockState(frozen_at=frozen_at), fired_through=fired_through)

    def finish(self, owner: str, *, state: ClockState, fired_through: datetime) -> None:
        self._own(owner)
        self.record = ClockRecord(state, fired_through)

    def release(self, owner: str) -> None:
        self._own(owner)
        self.record = replace(self.record, lease_owner=None, lease_until=0)

    def reset(self, *, now_epoch: int) -> None:
        if self.record.leased(now_epoch):
            raise clock_busy()
        self.record = ClockRecord(REAL_TIME)


class FakeInvoker:
    """Records each invocation with the business time the repository says at that moment."""

    def __init__(self, repository: FakeClockRepository, real: FixedClock) -> None:
        self.repository = repository
        self.real = real
        self.calls: list[tuple[str, str, datetime]] = []  # (function, event time, business now)
        self.fail_at: set[str] = set()  # event times whose invocation fails
        self.result: Any = {"ok": True}

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        business_now = self.repository.read_record().state.business_time(self.real.now())
        self.calls.append((function, event["time"], business_now))
        if event["time"] in self.fail_at:
            raise InvocationFailed("RuntimeError: boom")
        return self.result
