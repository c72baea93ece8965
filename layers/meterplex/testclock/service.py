"""Show, advance and reset the test clock (SPEC §8.1, ADR 0050). Pure over three ports: the clock's
store, a Lambda invoker and the completion checks; real time, sleeping and timing are injected."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from meterplex.platform.clock import Clock, ClockState, epoch_s, system_clock
from meterplex.platform.clock_store import ClockRecord
from meterplex.platform.errors import ErrorKind, InvalidInput, MeterplexError
from meterplex.platform.observability import logger
from meterplex.platform.schedules import due_firings, scheduled_event
from meterplex.testclock.targets import ScheduledTarget, import_check

MAX_ADVANCE = timedelta(days=3660)  # ten years: beyond that an advance is a typo
LEASE_MARGIN_S = 60
ANSWER_MARGIN_S = 2  # of the invocation's remaining time, kept to write the state and answer
POLL_FIRST_S, POLL_MAX_S = 0.01, 0.25


class ClockRepository(Protocol):
    """`meterplex.platform.clock_store.ClockStore`."""

    def read_record(self) -> ClockRecord: ...
    def acquire(self, owner: str, *, until_epoch: int, now_epoch: int) -> ClockRecord: ...
    def move(self, owner: str, *, frozen_at: datetime, fired_through: datetime) -> None: ...
    def finish(self, owner: str, *, state: ClockState, fired_through: datetime) -> None: ...
    def release(self, owner: str) -> None: ...
    def reset(self, *, now_epoch: int) -> None: ...


class InvocationFailed(Exception):
    """The invoked function raised (Lambda's `FunctionError`) or could not be invoked."""


class Invoker(Protocol):
    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke synchronously; the function's result, or InvocationFailed."""


class ScheduleUnavailable(MeterplexError):
    """A schedule's firing failed or never completed: the clock waits at that fire time."""

    kind = ErrorKind.UNAVAILABLE
    default_code = "SCHEDULE_FAILED"


@dataclass(frozen=True)
class Firing:
    schedule: str
    at: datetime


@dataclass(frozen=True)
class ClockView:
    now: datetime
    frozen: bool


@dataclass(frozen=True)
class AdvanceResult:
    now: datetime
    frozen: bool
    target: datetime
    complete: bool
    fired: list[Firing] = field(default_factory=list)


def _millis(moment: datetime) -> datetime:
    """The store keeps milliseconds; so does every instant advance reasons about."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _ceil_second(moment: datetime) -> datetime:
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


class ClockService:
    def __init__(
        self,
        repository: ClockRepository,
        invoker: Invoker,
        schedules: Sequence[ScheduledTarget],
        *,
        budget_s: float,
        completion_timeout_s: float,
        real_clock: Clock = system_clock,
        resolve: Callable[[str], Callable[[Any], Any]] = import_check,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repository = repository
        self.invoker = invoker
        self.schedules = tuple(schedules)
        self.budget_s = budget_s
        self.completion_timeout_s = completion_timeout_s
        self.real = real_clock
        self._resolve = resolve
        self._sleep = sleep
        self._monotonic = monotonic

    def show(self) -> ClockView:
        state = self.repository.read_record().state
        return ClockView(state.business_time(self.real.now()), state.frozen)

    def reset(self) -> ClockView:
        now = self.real.now()
        self.repository.reset(now_epoch=epoch_s(now))
        logger.info("test clock reset to real time")
        return ClockView(now, False)

    def advance(
        self,
        *,
        to: datetime | None = None,
        by: timedelta | None = None,
        freeze: bool = True,
        remaining_s: float | None = None,
    ) -> AdvanceResult:
        """Run every schedule due up to the target, in time order, then move the clock there.

        `remaining_s`: how long the caller (the Lambda invocation) may still run; the advance stops
        between two firings when its budget or that time is spent (`complete: False`).
        """
        if (to is None) == (by is None):
            raise InvalidInput("Give either `to` or a duration", code="CLOCK_TARGET_REQUIRED")
        started = self._monotonic()
        available = self.budget_s
        if remaining_s is not None:
            available = min(available, remaining_s - ANSWER_MARGIN_S)
        stop_at = started + max(available, 0.0)
        lease_s = remaining_s if remaining_s is not None else self.budget_s + self.completion_timeout_s
        owner = uuid.uuid4().hex
        real = self.real.now()
        record = self.repository.acquire(
            owner, until_epoch=epoch_s(real) + int(lease_s) + LEASE_MARGIN_S, now_epoch=epoch_s(real)
        )
        try:
            return self._advance(owner, record, real, to, by, freeze, stop_at)
        except BaseException:
            try:
                self.repository.release(owner)
            except Exception:  # the failure that got us here matters more
                logger.exception("releasing the clock lease failed")
            raise

    def _advance(
        self,
        owner: str,
        record: ClockRecord,
        real: datetime,
        to: datetime | None,
        by: timedelta | None,
        freeze: bool,
        stop_at: float,
    ) -> AdvanceResult:
        start = _millis(record.state.business_time(real))
        target = _millis(to if to is not None else start + (by or timedelta(0)))
        if target < start:
            raise InvalidInput(
                f"The clock only moves forward: {target.isoformat()} is before its now {start.isoformat()}",
                code="CLOCK_NOT_FORWARD",
            )
        if target - start > MAX_ADVANCE:
            raise InvalidInput("Advance at most ten years at a time", code="CLOCK_ADVANCE_TOO_FAR")
        # A crashed advance leaves the clock frozen at a fire time it may not have finished:
        # resume from what is known to have fired.
        after = start
        if record.state.frozen and record.fired_through is not None and record.fired_through < start:
            after = record.fired_through
        fired: list[Firing] = []
        previous = after  # every firing at or before it has run
        complete = True
        for at, schedule in self._firings(after, target):
            if fired and self._monotonic() >= stop_at:
                complete = False
                break
            self.repository.move(owner, frozen_at=at, fired_through=previous)
            self._fire(schedule, at)
            fired.append(Firing(schedule.name, at))
            previous = at
        reached = target if complete else fired[-1].at
        if freeze or not complete:
            state = ClockState(frozen_at=reached)
        else:
            state = ClockState(offset=reached - self.real.now())
        self.repository.finish(owner, state=state, fired_through=reached)
        logger.info(
            "test clock advanced",
            now=reached.isoformat(),
            target=target.isoformat(),
            fired=len(fired),
            complete=complete,
        )
        return AdvanceResult(reached, state.frozen, target, complete, fired)

    def _firings(self, after: datetime, target: datetime) -> Iterator[tuple[datetime, ScheduledTarget]]:
        """Every firing in (after, target], in time order (ties: topology order), computed lazily:
        a schedule with a next-work hint fires when the hint says its work is due, asked again after
        every firing (which may have created work); the others at their expression's times."""
        order = {s.name: i for i, s in enumerate(self.schedules)}
        hinted = [s for s in self.schedules if s.next_work]
        timed = due_firings([s for s in self.schedules if not s.next_work], after, target)
        upcoming = next(timed, None)
        previous = after
        while True:
            candidates = [c for c in (self._hinted_firing(s, previous) for s in hinted) if c is not None]
            if upcoming is not None:
                candidates.append(upcoming)
            candidates = [(at, s) for at, s in candidates if at <= target]
            if not candidates:
                return
            at, schedule = min(candidates, key=lambda c: (c[0], order[c[1].name]))
            if upcoming is not None and (at, schedule.name) == (upcoming[0], upcoming[1].name):
                upcoming = next(timed, None)
            yield at, schedule
            previous = at

    def _hinted_firing(
        self, schedule: ScheduledTarget, previous: datetime
    ) -> tuple[datetime, ScheduledTarget] | None:
        """When a hinted schedule fires next: at its work's due time (whole seconds, as Scheduled
        Events carry them), and strictly after the last firing (overdue work: the next second)."""
        try:
            due = self._resolve(schedule.next_work)(previous)
        except Exception as error:
            raise ScheduleUnavailable(
                f"schedule {schedule.name}: its next-work hint failed: {error}"
            ) from error
        if due is None:
            return None
        return max(_ceil_second(due), _ceil_second(previous + timedelta(milliseconds=1))), schedule

    def _fire(self, schedule: ScheduledTarget, at: datetime) -> None:
        where = f"schedule {schedule.name} at {at.isoformat()}"
        try:
            result = self.invoker.invoke(schedule.function, scheduled_event(schedule.arn, at))
        except InvocationFailed as error:
            raise ScheduleUnavailable(f"{where} failed: {error}; the clock waits there") from error
        if not schedule.completion:
            return
        check = self._resolve(schedule.completion)
        deadline = self._monotonic() + self.completion_timeout_s
        delay = POLL_FIRST_S
        while not self._completed(check, result, where):
            if self._monotonic() >= deadline:
                raise ScheduleUnavailable(
                    f"{where} did not complete within {self.completion_timeout_s:g}s; the clock waits there",
                    code="SCHEDULE_INCOMPLETE",
                )
            self._sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    @staticmethod
    def _completed(check: Callable[[Any], Any], result: Any, where: str) -> bool:
        try:
            return bool(check(result))
        except Exception as error:
            raise ScheduleUnavailable(f"{where}: its completion check failed: {error}") from error
