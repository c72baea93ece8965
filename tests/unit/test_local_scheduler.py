"""The local EventBridge Scheduler, driven by a fake clock, a fake test clock and a fake topology."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.scheduler import Scheduler
from infra.topology import Schedule

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class BusinessTime:
    """What the local cloud's test clock says: business now, or None while frozen/advancing."""

    def __init__(self) -> None:
        self.at: datetime | None = NOW

    def __call__(self) -> datetime | None:
        return self.at


def scheduler(
    *schedules: Schedule, business: BusinessTime | None = None
) -> tuple[Scheduler, Clock, list[tuple[str, dict[str, Any]]]]:
    clock, calls = Clock(), []
    sched = Scheduler(
        schedules,
        lambda fn, ev: calls.append((fn, ev)),
        clock=clock,
        business_time=business or BusinessTime(),
    )
    return sched, clock, calls


def test_scheduler_fires_each_schedule_every_interval() -> None:
    sched, clock, calls = scheduler(
        Schedule("invoices", "invoice_scheduler", "rate(1 hour)", local_interval_s=10),
        Schedule("cleanup", "cleaner", "rate(1 day)", local_interval_s=25),
    )
    assert sched.tick() == []
    clock.now += 10
    assert sched.tick() == ["invoices"]
    clock.now += 5
    assert sched.tick() == []
    clock.now += 10
    assert sched.tick() == ["invoices", "cleanup"]
    assert [fn for fn, _ in calls] == ["invoice_scheduler", "invoice_scheduler", "cleaner"]


def test_scheduler_event_is_an_eventbridge_scheduled_event() -> None:
    sched, clock, calls = scheduler(Schedule("invoices", "invoice_scheduler", "rate(1 hour)", 1))
    clock.now += 1
    sched.tick()
    event = calls[0][1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.scheduler"
    assert event["time"] == "2026-01-31T12:00:00Z"
    assert event["detail"] == {} and event["version"] == "0"
    assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    assert event["resources"][0].endswith("schedule/default/meterplex-local-invoices")


def test_scheduler_survives_a_failing_function() -> None:
    clock = Clock()

    def failing(fn: str, ev: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    sched = Scheduler(
        [Schedule("s", "f", "rate(1 minute)", 1)], failing, clock=clock, business_time=lambda: NOW
    )
    clock.now += 1
    assert sched.tick() == ["s"]


def test_scheduler_without_schedules_does_nothing() -> None:
    sched, _, calls = scheduler()
    assert sched.tick() == [] and calls == []
    sched.start()
    sched.stop()


def test_scheduler_event_time_is_business_time_when_the_clock_runs_with_an_offset() -> None:
    business = BusinessTime()
    business.at = NOW + timedelta(days=31)
    sched, clock, calls = scheduler(
        Schedule("invoices", "invoice_scheduler", "rate(1 hour)", 1), business=business
    )
    clock.now += 1
    sched.tick()
    assert calls[0][1]["time"] == "2026-03-03T12:00:00Z"


def test_scheduler_fires_nothing_while_the_test_clock_is_frozen_and_resumes_after() -> None:
    # GIVEN a frozen test clock (advance is then the only thing that fires schedules)
    business = BusinessTime()
    business.at = None
    sched, clock, calls = scheduler(
        Schedule("invoices", "invoice_scheduler", "rate(1 hour)", 10), business=business
    )
    # WHEN the interval passes twice
    clock.now += 10
    assert sched.tick() == []
    clock.now += 10
    assert sched.tick() == []
    # THEN nothing fired; once the clock runs again the next interval fires once, not the missed ones
    business.at = NOW
    clock.now += 10
    assert sched.tick() == ["invoices"]
    assert len(calls) == 1


def test_scheduler_skips_a_round_when_the_test_clock_cannot_be_read() -> None:
    def unreadable() -> datetime | None:
        raise ConnectionError("moto down")

    clock, calls = Clock(), []
    sched = Scheduler(
        [Schedule("s", "f", "rate(1 minute)", 1)],
        lambda fn, ev: calls.append(fn),
        clock=clock,
        business_time=unreadable,
    )
    clock.now += 1
    assert sched.tick() == [] and calls == []
