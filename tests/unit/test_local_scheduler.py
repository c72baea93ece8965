"""The local EventBridge Scheduler, driven by a fake clock and a fake topology."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from infra.local.scheduler import Scheduler
from infra.topology import Schedule

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def scheduler(*schedules: Schedule) -> tuple[Scheduler, Clock, list[tuple[str, dict[str, Any]]]]:
    clock, calls = Clock(), []
    sched = Scheduler(schedules, lambda fn, ev: calls.append((fn, ev)), clock=clock, wall_clock=lambda: NOW)
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

    sched = Scheduler([Schedule("s", "f", "rate(1 minute)", 1)], failing, clock=clock)
    clock.now += 1
    assert sched.tick() == ["s"]


def test_scheduler_without_schedules_does_nothing() -> None:
    sched, _, calls = scheduler()
    assert sched.tick() == [] and calls == []
    sched.start()
    sched.stop()
