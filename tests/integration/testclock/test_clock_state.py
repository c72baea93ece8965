"""The test clock on moto server: one state shared by separately built clocks ("functions"),
advance running test schedules through the local Lambda Invoke API, completions, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from infra.local.cloud import scheduler_business_time
from infra.local.functions import FunctionRunner
from meterplex.platform.clock import BusinessClock, invocation_scope, iso
from meterplex.platform.clock_store import ClockStore
from meterplex.platform.errors import Conflict
from meterplex.testclock.invoker import LambdaInvoker
from meterplex.testclock.service import ClockService, ScheduleUnavailable
from meterplex.testclock.targets import ScheduledTarget
from tests.integration.testclock import completions
from tests.integration.testclock.conftest import lambda_client_for
from tests.support.waiting import wait_for

ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/meterplex-test-{}"
COMPLETIONS = "tests.integration.testclock.completions"


def target(name: str, expression: str, completion: str = "") -> ScheduledTarget:
    return ScheduledTarget(name, "clock_probe", expression, ARN.format(name), completion)


def separate_store() -> ClockStore:
    """A store with its own client, as another Lambda function (another process) would have."""
    return ClockStore(client=botocore.session.get_session().create_client("dynamodb"))


@pytest.fixture
def clocks(clock_store: ClockStore) -> tuple[BusinessClock, BusinessClock]:
    return BusinessClock(separate_store(), enabled=True), BusinessClock(separate_store(), enabled=True)


@pytest.fixture
def service_for(
    clock_store: ClockStore, fixture_lambda: tuple[str, FunctionRunner], probe: ModuleType
) -> Iterator[Any]:
    url, _ = fixture_lambda

    def build(
        *schedules: ScheduledTarget, completion_timeout_s: float = 5, budget_s: float = 60
    ) -> ClockService:
        return ClockService(
            ClockStore(),
            LambdaInvoker(lambda_client_for(url)),
            schedules,
            budget_s=budget_s,
            completion_timeout_s=completion_timeout_s,
        )

    yield build


def test_two_functions_share_one_clock_state(
    clocks: tuple[BusinessClock, BusinessClock], service_for: Any
) -> None:
    first, second = clocks
    before = datetime.now(UTC)
    assert before - timedelta(seconds=5) < first.now() < before + timedelta(seconds=5)

    result = service_for().advance(by=timedelta(days=31))

    assert first.now() == second.now() == result.now
    assert first.state().frozen and second.state().frozen
    service_for().reset()
    assert abs(first.now() - datetime.now(UTC)) < timedelta(seconds=5)
    assert not second.state().frozen


def test_every_invocation_after_an_advance_sees_it_at_once(
    clocks: tuple[BusinessClock, BusinessClock], service_for: Any
) -> None:
    # GIVEN a function in the middle of an invocation, and another one not yet started
    running, later = clocks
    with invocation_scope():
        assert not running.state().frozen
        # WHEN an advance answers
        result = service_for().advance(by=timedelta(hours=5))
        # THEN the running invocation keeps its one state, and the next invocation anywhere has the new one
        assert not running.state().frozen and running.now() < result.now
        with invocation_scope():
            assert later.now() == result.now
    with invocation_scope():
        assert running.now() == result.now


def test_advance_fires_test_schedules_in_time_order_with_the_clock_at_each_fire_time(
    service_for: Any, probe: ModuleType
) -> None:
    service_for().advance(to=datetime(2030, 1, 1, 0, 30, tzinfo=UTC))  # no schedules yet
    service = service_for(target("daily", "cron(0 1 * * ? *)"), target("halfday", "rate(12 hours)"))

    result = service.advance(by=timedelta(days=2))

    times = [call["time"] for call in probe.CALLS]
    assert times == [
        "2030-01-01T01:00:00Z",
        "2030-01-01T12:00:00Z",
        "2030-01-02T00:00:00Z",
        "2030-01-02T01:00:00Z",
        "2030-01-02T12:00:00Z",
        "2030-01-03T00:00:00Z",
    ]
    # inside each invocation, business_clock read the fire time (through the CLOCK item)
    assert [call["now"] for call in probe.CALLS] == [t.replace("Z", ".000Z") for t in times]
    assert probe.CALLS[0]["resources"] == [ARN.format("daily")]
    assert [f.schedule for f in result.fired] == [
        "daily",
        "halfday",
        "halfday",
        "daily",
        "halfday",
        "halfday",
    ]
    assert iso(result.now) == "2030-01-03T00:30:00.000Z" and result.complete


def test_advance_polls_the_completion_with_the_functions_result(service_for: Any, probe: ModuleType) -> None:
    service_for().advance(to=datetime(2030, 1, 1, tzinfo=UTC))
    service = service_for(target("daily", "cron(0 1 * * ? *)", f"{COMPLETIONS}:after_three_polls"))

    service.advance(by=timedelta(days=2))

    assert len(probe.CALLS) == 2
    assert [poll["time"] for poll in completions.POLLS] == ["2030-01-01T01:00:00Z"] * 3 + [
        "2030-01-02T01:00:00Z"
    ] * 3
    assert completions.POLLS[0]["businessNow"] == "2030-01-01T01:00:00.000Z"


def test_a_completion_that_never_comes_is_503_and_leaves_the_clock_at_that_fire_time(
    service_for: Any, clock_store: ClockStore, probe: ModuleType
) -> None:
    service_for().advance(to=datetime(2030, 1, 1, tzinfo=UTC))
    service = service_for(
        target("stuck", "cron(0 1 * * ? *)", f"{COMPLETIONS}:never"), completion_timeout_s=0.3
    )
    with pytest.raises(ScheduleUnavailable) as error:
        service.advance(by=timedelta(days=3))
    assert error.value.code == "SCHEDULE_INCOMPLETE" and "schedule stuck" in error.value.message
    record = clock_store.read_record()
    assert record.state.frozen_at == datetime(2030, 1, 1, 1, tzinfo=UTC)
    assert record.lease_owner is None  # the next advance may run
    assert len(probe.CALLS) == 1


def test_a_failing_scheduled_function_is_503_and_a_repeat_retries_that_firing(
    service_for: Any, probe: ModuleType
) -> None:
    service_for().advance(to=datetime(2030, 1, 1, tzinfo=UTC))
    service = service_for(target("daily", "cron(0 1 * * ? *)"))
    probe.FAIL_AT.add("2030-01-02T01:00:00Z")
    with pytest.raises(ScheduleUnavailable) as error:
        service.advance(by=timedelta(days=3))
    assert error.value.code == "SCHEDULE_FAILED" and "RuntimeError" in error.value.message
    probe.FAIL_AT.clear()
    result = service.advance(to=datetime(2030, 1, 4, tzinfo=UTC))
    assert [iso(f.at) for f in result.fired] == ["2030-01-02T01:00:00.000Z", "2030-01-03T01:00:00.000Z"]


def test_a_second_advance_or_a_reset_during_an_advance_is_refused(
    service_for: Any, probe: ModuleType
) -> None:
    # GIVEN an advance whose scheduled function is still running
    service_for().advance(to=datetime(2030, 1, 1, tzinfo=UTC))
    service = service_for(target("daily", "cron(0 1 * * ? *)"))
    probe.HOLD = threading.Event()
    first = threading.Thread(target=lambda: service.advance(by=timedelta(days=1)))
    first.start()
    try:
        wait_for(lambda: service.repository.read_record().lease_owner is not None)
        # WHEN another advance or a reset arrives THEN both are refused, nothing interleaves
        with pytest.raises(Conflict) as error:
            service.advance(by=timedelta(days=5))
        assert error.value.code == "CLOCK_BUSY"
        with pytest.raises(Conflict):
            service.reset()
        assert scheduler_business_time() is None  # the local scheduler holds off too
    finally:
        probe.HOLD.set()
        first.join(10)
    assert [call["time"] for call in probe.CALLS] == ["2030-01-01T01:00:00Z"]


def test_the_local_scheduler_runs_on_business_time_only_while_the_clock_runs(service_for: Any) -> None:
    assert abs(scheduler_business_time() - datetime.now(UTC)) < timedelta(seconds=5)  # type: ignore[operator]
    service_for().advance(by=timedelta(days=1), freeze=False)
    running = scheduler_business_time()
    assert running is not None and running - datetime.now(UTC) > timedelta(hours=23)
    service_for().advance(by=timedelta(days=1))
    assert scheduler_business_time() is None
