"""Advance, in memory: schedules fire in time order at their fire times, completion checks are
polled, the time budget splits a long advance, failures leave the clock where a retry resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meterplex.platform.clock import ClockState, FixedClock
from meterplex.platform.errors import Conflict, InvalidInput
from meterplex.testclock.service import ClockService, ScheduleUnavailable
from meterplex.testclock.targets import ScheduledTarget, dump_targets, load_targets
from tests.unit.testclock.fakes import FakeClockRepository, FakeInvoker

REAL = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/meterplex-test-{}"
DAILY = ScheduledTarget("daily", "billing_scheduler", "cron(0 1 * * ? *)", ARN.format("daily"))
TWICE_A_DAY = ScheduledTarget("twice", "reporter", "rate(12 hours)", ARN.format("twice"))


class Ticker:
    """A monotonic clock that advances a fixed step per reading; sleeping advances it too."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 0.0
        self.step = step
        self.slept: list[float] = []

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def service(
    *schedules: ScheduledTarget,
    budget_s: float = 20,
    completion_timeout_s: float = 5,
    checks: dict[str, Any] | None = None,
    ticker: Ticker | None = None,
) -> tuple[ClockService, FakeClockRepository, FakeInvoker, FixedClock]:
    repository, real = FakeClockRepository(), FixedClock(REAL)
    invoker = FakeInvoker(repository, real)
    ticker = ticker or Ticker()
    clock_service = ClockService(
        repository,
        invoker,
        schedules,
        budget_s=budget_s,
        completion_timeout_s=completion_timeout_s,
        real_clock=real,
        resolve=lambda path: (checks or {})[path],
        sleep=ticker.sleep,
        monotonic=ticker,
    )
    return clock_service, repository, invoker, real


def test_advance_fires_every_due_schedule_in_time_order_at_its_fire_time() -> None:
    clock, _, invoker, _ = service(DAILY, TWICE_A_DAY)
    result = clock.advance(by=timedelta(days=2))
    expected = [
        ("reporter", "2026-02-01T00:00:00Z"),
        ("billing_scheduler", "2026-02-01T01:00:00Z"),
        ("reporter", "2026-02-01T12:00:00Z"),
        ("reporter", "2026-02-02T00:00:00Z"),
        ("billing_scheduler", "2026-02-02T01:00:00Z"),
        ("reporter", "2026-02-02T12:00:00Z"),
    ]
    assert [(fn, time) for fn, time, _ in invoker.calls] == expected
    # the business clock read the fire time during each invocation
    assert all(now.strftime("%Y-%m-%dT%H:%M:%SZ") == time for _, time, now in invoker.calls)
    assert [(f.schedule, f.at.hour) for f in result.fired][:2] == [("twice", 0), ("daily", 1)]
    assert result.now == result.target == REAL + timedelta(days=2)
    assert result.frozen and result.complete


def test_advance_to_an_instant_freezes_there_and_the_next_advance_starts_from_it() -> None:
    clock, repository, invoker, _ = service(DAILY)
    clock.advance(to=datetime(2026, 2, 1, 0, 30, tzinfo=UTC))
    assert invoker.calls == []
    assert repository.record.state == ClockState(frozen_at=datetime(2026, 2, 1, 0, 30, tzinfo=UTC))
    clock.advance(by=timedelta(hours=1))
    assert [time for _, time, _ in invoker.calls] == ["2026-02-01T01:00:00Z"]
    assert clock.show().now == datetime(2026, 2, 1, 1, 30, tzinfo=UTC)


def test_a_fire_time_equal_to_the_target_fires_and_a_repeat_does_not_fire_it_again() -> None:
    clock, _, invoker, _ = service(DAILY)
    clock.advance(to=datetime(2026, 2, 1, 1, 0, tzinfo=UTC))
    clock.advance(to=datetime(2026, 2, 1, 1, 0, tzinfo=UTC))  # zero-length: nothing new is due
    assert [time for _, time, _ in invoker.calls] == ["2026-02-01T01:00:00Z"]


def test_advance_without_freeze_leaves_the_clock_running_from_the_target() -> None:
    clock, repository, _, real = service()
    clock.advance(by=timedelta(days=31), freeze=False)
    assert not repository.record.state.frozen
    real.set(REAL + timedelta(minutes=10))
    assert clock.show().now == REAL + timedelta(days=31, minutes=10)
    assert not clock.show().frozen


def test_advance_backwards_is_refused_and_changes_nothing() -> None:
    clock, repository, invoker, _ = service(DAILY)
    clock.advance(by=timedelta(days=1))
    before = repository.record
    with pytest.raises(InvalidInput) as error:
        clock.advance(to=REAL)
    assert error.value.code == "CLOCK_NOT_FORWARD"
    assert repository.record.state == before.state and repository.record.lease_owner is None
    assert len(invoker.calls) == 1


def test_advance_needs_exactly_one_target_and_at_most_ten_years() -> None:
    clock, _, _, _ = service()
    with pytest.raises(InvalidInput):
        clock.advance()
    with pytest.raises(InvalidInput):
        clock.advance(to=REAL, by=timedelta(days=1))
    with pytest.raises(InvalidInput) as error:
        clock.advance(by=timedelta(days=3661))
    assert error.value.code == "CLOCK_ADVANCE_TOO_FAR"


def test_a_concurrent_advance_is_refused_while_the_lease_is_held() -> None:
    clock, repository, _, _ = service()
    repository.acquire(
        "someone-else", until_epoch=int(REAL.timestamp()) + 60, now_epoch=int(REAL.timestamp())
    )
    with pytest.raises(Conflict) as error:
        clock.advance(by=timedelta(days=1))
    assert error.value.code == "CLOCK_BUSY"
    with pytest.raises(Conflict):
        clock.reset()


def test_an_expired_lease_does_not_block_an_advance() -> None:
    clock, repository, _, _ = service()
    repository.acquire("crashed", until_epoch=int(REAL.timestamp()) - 1, now_epoch=0)
    assert clock.advance(by=timedelta(hours=1)).complete


def test_completion_is_polled_with_the_functions_result_until_true() -> None:
    seen: list[Any] = []

    def done_on_third_poll(result: Any) -> bool:
        seen.append(result)
        return len(seen) >= 3

    target = ScheduledTarget("daily", "billing_scheduler", "cron(0 1 * * ? *)", ARN.format("d"), "m:done")
    ticker = Ticker()
    clock, _, invoker, _ = service(target, checks={"m:done": done_on_third_poll}, ticker=ticker)
    invoker.result = {"due": 4}
    clock.advance(by=timedelta(days=1))
    assert seen == [{"due": 4}] * 3
    assert len(ticker.slept) == 2 and ticker.slept[1] > ticker.slept[0]  # backs off


def test_a_completion_that_never_comes_answers_503_and_the_clock_waits_at_that_fire_time() -> None:
    target = ScheduledTarget("daily", "billing_scheduler", "cron(0 1 * * ? *)", ARN.format("d"), "m:never")
    checks: dict[str, Any] = {"m:never": lambda result: False}
    clock, repository, invoker, _ = service(target, checks=checks, completion_timeout_s=1)
    with pytest.raises(ScheduleUnavailable) as error:
        clock.advance(by=timedelta(days=3))
    assert error.value.code == "SCHEDULE_INCOMPLETE"
    assert "schedule daily" in error.value.message
    first = datetime(2026, 2, 1, 1, tzinfo=UTC)
    assert repository.record.state.frozen_at == first and repository.record.lease_owner is None
    # WHEN the work completes and the advance is repeated THEN that firing runs again, then the rest
    checks["m:never"] = lambda result: True
    clock.advance(to=REAL + timedelta(days=3))
    assert [time for _, time, _ in invoker.calls] == [
        "2026-02-01T01:00:00Z",
        "2026-02-01T01:00:00Z",
        "2026-02-02T01:00:00Z",
        "2026-02-03T01:00:00Z",
    ]


def test_a_failing_function_answers_503_naming_the_schedule_and_a_retry_resumes_there() -> None:
    clock, repository, invoker, _ = service(DAILY)
    invoker.fail_at = {"2026-02-02T01:00:00Z"}
    with pytest.raises(ScheduleUnavailable) as error:
        clock.advance(by=timedelta(days=3))
    assert error.value.code == "SCHEDULE_FAILED" and "schedule daily" in error.value.message
    assert repository.record.state.frozen_at == datetime(2026, 2, 2, 1, tzinfo=UTC)
    assert repository.record.fired_through == datetime(2026, 2, 1, 1, tzinfo=UTC)
    invoker.fail_at = set()
    result = clock.advance(to=REAL + timedelta(days=3))
    assert [f.at.day for f in result.fired] == [2, 3]


def test_the_time_budget_splits_a_long_advance_and_repeating_it_finishes() -> None:
    # GIVEN every firing costs one second of a three-second budget
    clock, repository, invoker, _ = service(DAILY, budget_s=3, ticker=Ticker(step=1.0))
    target = REAL + timedelta(days=10)
    first = clock.advance(to=target)
    assert not first.complete and first.frozen
    assert 1 <= len(first.fired) < 10
    assert first.now == first.fired[-1].at == repository.record.state.frozen_at
    rounds = [first]
    while not rounds[-1].complete:
        rounds.append(clock.advance(to=target))
    assert [time for _, time, _ in invoker.calls] == [f"2026-02-{d:02d}T01:00:00Z" for d in range(1, 11)]
    assert rounds[-1].now == target


def test_the_functions_remaining_time_bounds_the_budget() -> None:
    clock, _, _, _ = service(DAILY, budget_s=20, ticker=Ticker(step=1.0))
    result = clock.advance(by=timedelta(days=30), remaining_s=5)
    assert not result.complete and len(result.fired) <= 4


def test_every_call_makes_progress_even_without_budget() -> None:
    clock, _, _, _ = service(DAILY, budget_s=0.001, ticker=Ticker(step=1.0))
    assert len(clock.advance(by=timedelta(days=5)).fired) == 1


def test_a_year_of_a_daily_schedule_fires_365_times() -> None:
    clock, _, invoker, _ = service(DAILY, budget_s=900)
    result = clock.advance(to=datetime(2027, 1, 31, 12, tzinfo=UTC))
    assert result.complete and len(invoker.calls) == 365


def test_reset_returns_to_real_time() -> None:
    clock, repository, _, real = service()
    clock.advance(by=timedelta(days=40))
    view = clock.reset()
    assert view.now == REAL and not view.frozen
    real.set(REAL + timedelta(seconds=1))
    assert clock.show().now == REAL + timedelta(seconds=1)
    assert repository.record.state.is_real_time


def test_schedule_targets_round_trip_and_are_validated() -> None:
    targets = (DAILY, ScheduledTarget("x", "fn", "rate(1 day)", ARN.format("x"), "pkg.mod:check"))
    assert load_targets(dump_targets(targets)) == targets
    assert load_targets("") == ()
    with pytest.raises(ValueError):
        load_targets(dump_targets([ScheduledTarget("bad", "fn", "every day", ARN.format("b"))]))
    with pytest.raises(ValueError):
        load_targets(dump_targets([ScheduledTarget("bad", "fn", "rate(1 day)", ARN.format("b"), "no_colon")]))


def test_the_local_cloud_gives_admin_api_its_topologys_schedules_by_function_name() -> None:
    from infra.local.cloud import schedule_targets
    from infra.topology import Schedule

    schedules = (
        Schedule("billing-run", "billing_scheduler", "cron(0 1 * * ? *)", 60, completion="pkg.mod:done"),
        Schedule("hourly", "reporter", "rate(1 hour)", 30),
    )
    targets = load_targets(dump_targets(schedule_targets(schedules, "local")))
    assert [(t.name, t.function, t.expression, t.completion) for t in targets] == [
        ("billing-run", "billing_scheduler", "cron(0 1 * * ? *)", "pkg.mod:done"),
        ("hourly", "reporter", "rate(1 hour)", ""),
    ]
    assert (
        targets[0].arn
        == "arn:aws:scheduler:us-east-1:000000000000:schedule/default/meterplex-local-billing-run"
    )


# -- next-work hints (ADR 0081) -------------------------------------------------------------------
SWEEP = ScheduledTarget(
    "sweep", "webhook_delivery", "rate(1 minute)", ARN.format("sweep"), completion="done", next_work="hint"
)


class Retries:
    """A due index in memory: each firing "attempts" what is due by its time, and a failed attempt
    is due again after the next delay of `delays` (like the webhook worker)."""

    def __init__(self, first_due: datetime | None, delays: list[timedelta]) -> None:
        self.due = first_due
        self.delays = list(delays)
        self.hints: list[datetime] = []

    def hint(self, after: datetime) -> datetime | None:
        self.hints.append(after)
        return self.due

    def fired(self, at: datetime) -> None:
        if self.due is not None and self.due <= at:
            self.due = at + self.delays.pop(0) if self.delays else None


def hinted_service(retries: Retries, *schedules: ScheduledTarget) -> tuple[ClockService, FakeInvoker]:
    clock, _, invoker, _ = service(
        SWEEP, *schedules, checks={"hint": retries.hint, "done": lambda result: True}
    )
    original = invoker.invoke

    def invoke(function: str, event: dict[str, Any]) -> Any:
        if function == "webhook_delivery":
            retries.fired(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
        return original(function, event)

    invoker.invoke = invoke  # type: ignore[method-assign]
    return clock, invoker


def test_a_hinted_schedule_fires_when_its_work_is_due_not_at_every_minute() -> None:
    # GIVEN a delivery due 5.2 s from now that fails twice more (retries 5 min, then 30 min later)
    retries = Retries(REAL + timedelta(seconds=5.2), [timedelta(minutes=5), timedelta(minutes=30)])
    clock, invoker = hinted_service(retries, DAILY)
    # WHEN the clock advances three days
    result = clock.advance(by=timedelta(days=3))
    # THEN the sweep fired three times, at the due times (whole seconds), among the daily runs
    sweeps = [time for fn, time, _ in invoker.calls if fn == "webhook_delivery"]
    assert sweeps == ["2026-01-31T12:00:06Z", "2026-01-31T12:05:06Z", "2026-01-31T12:35:06Z"]
    assert [fn for fn, _, _ in invoker.calls].count("billing_scheduler") == 3
    assert result.complete and result.now == REAL + timedelta(days=3)
    # the hint was asked at the start and after every firing
    assert len(retries.hints) == len(invoker.calls) + 1


def test_a_hinted_schedule_with_no_work_never_fires() -> None:
    clock, invoker = hinted_service(Retries(None, []))
    clock.advance(by=timedelta(days=30))
    assert invoker.calls == []


def test_overdue_work_fires_in_the_next_second_and_work_beyond_the_target_waits() -> None:
    retries = Retries(REAL - timedelta(minutes=3), [timedelta(hours=2)])
    clock, invoker = hinted_service(retries)
    clock.advance(by=timedelta(hours=1))
    assert [time for _, time, _ in invoker.calls] == ["2026-01-31T12:00:01Z"]
    assert retries.due == REAL + timedelta(seconds=1, hours=2)  # beyond the target: not fired


def test_a_hint_needs_a_completion_check() -> None:
    lonely = ScheduledTarget("s", "f", "rate(1 minute)", ARN.format("s"), next_work="m:hint")
    with pytest.raises(ValueError, match="completion"):
        load_targets(dump_targets([lonely]))
