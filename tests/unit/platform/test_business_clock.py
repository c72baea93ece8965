"""The business clock: frozen/offset arithmetic over a fake state store, one read per invocation,
and the settings that switch it on (never in prod)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from meterplex.platform.clock import (
    REAL_TIME,
    BusinessClock,
    ClockState,
    FixedClock,
    invocation_scope,
    per_invocation,
)
from meterplex.platform.settings import ClockSettings

REAL = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
FROZEN = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self, state: ClockState = REAL_TIME) -> None:
        self.state = state
        self.reads = 0

    def read(self) -> ClockState:
        self.reads += 1
        return self.state


def clock_with(
    state: ClockState = REAL_TIME, *, enabled: bool = True
) -> tuple[BusinessClock, FakeStore, FixedClock]:
    store, real = FakeStore(state), FixedClock(REAL)
    return BusinessClock(store, enabled=enabled, system=real), store, real


def test_disabled_clock_is_real_time_and_reads_nothing() -> None:
    clock, store, real = clock_with(ClockState(frozen_at=FROZEN), enabled=False)
    assert clock.now() == REAL
    real.set(REAL + timedelta(seconds=5))
    assert clock.now() == REAL + timedelta(seconds=5)
    assert clock.state() == REAL_TIME
    assert store.reads == 0


def test_no_state_is_real_time() -> None:
    clock, _, real = clock_with()
    assert clock.now() == REAL
    real.set(REAL + timedelta(hours=1))
    assert clock.now() == REAL + timedelta(hours=1)


def test_frozen_clock_stands_still_while_real_time_moves() -> None:
    clock, _, real = clock_with(ClockState(frozen_at=FROZEN))
    real.set(REAL + timedelta(days=2))
    assert clock.now() == FROZEN
    assert clock.state().frozen


def test_offset_clock_runs_with_real_time_shifted() -> None:
    clock, _, real = clock_with(ClockState(offset=timedelta(days=31)))
    assert clock.now() == REAL + timedelta(days=31)
    real.set(REAL + timedelta(minutes=3))
    assert clock.now() == REAL + timedelta(days=31, minutes=3)
    assert not clock.state().frozen


def test_outside_an_invocation_every_now_reads_the_state_so_it_is_exact() -> None:
    clock, store, _ = clock_with()
    clock.now()
    store.state = ClockState(frozen_at=FROZEN)
    assert clock.now() == FROZEN
    assert store.reads == 2


def test_inside_an_invocation_the_state_is_read_once_and_the_next_invocation_sees_a_change() -> None:
    clock, store, _ = clock_with()
    with invocation_scope():
        assert clock.now() == REAL
        store.state = ClockState(frozen_at=FROZEN)  # an advance lands mid-invocation
        assert clock.now() == REAL  # one consistent time per invocation
        assert store.reads == 1
    with invocation_scope():
        assert clock.now() == FROZEN
    assert store.reads == 2


def test_an_invocation_that_never_asks_reads_nothing() -> None:
    _clock, store, _ = clock_with()
    with invocation_scope():
        pass
    assert store.reads == 0


def test_per_invocation_decorator_opens_a_scope_per_call() -> None:
    clock, store, _ = clock_with(ClockState(frozen_at=FROZEN))

    @per_invocation
    def handler(event: dict, context: object) -> list[datetime]:
        return [clock.now(), clock.now(), clock.now()]

    assert handler({}, None) == [FROZEN] * 3
    assert handler({}, None) == [FROZEN] * 3
    assert store.reads == 2


def test_invocation_memos_are_per_thread() -> None:
    # GIVEN one thread inside an invocation that has read the real-time state
    clock, store, _ = clock_with()
    read, moved, done = threading.Event(), threading.Event(), threading.Event()
    seen: list[datetime] = []

    def other_function() -> None:
        with invocation_scope():
            read.wait(5)
            moved.wait(5)
            seen.append(clock.now())
        done.set()

    thread = threading.Thread(target=other_function)
    thread.start()
    with invocation_scope():
        clock.now()
        read.set()
        # WHEN the state changes, THEN another thread's invocation starting its reads later sees it
        store.state = ClockState(frozen_at=FROZEN)
        moved.set()
        done.wait(5)
        assert clock.now() == REAL
    thread.join(5)
    assert seen == [FROZEN]


def test_two_clocks_in_one_invocation_each_read_their_own_store() -> None:
    first, first_store, _ = clock_with(ClockState(frozen_at=FROZEN))
    second, second_store, _ = clock_with()
    with invocation_scope():
        assert first.now() == FROZEN
        assert second.now() == REAL
    assert first_store.reads == second_store.reads == 1


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({"MP_STAGE": "local"}, True),
        ({"MP_STAGE": "test"}, True),
        ({"MP_STAGE": "dev"}, False),
        ({"MP_STAGE": "dev", "MP_TEST_CLOCK": "true"}, True),
        ({"MP_STAGE": "local", "MP_TEST_CLOCK": "false"}, False),
        ({"MP_STAGE": "prod"}, False),
        ({"MP_STAGE": "prod", "MP_TEST_CLOCK": "false"}, False),
    ],
)
def test_clock_settings_default_on_in_local_and_test_stages_only(
    environ: dict[str, str], enabled: bool
) -> None:
    assert ClockSettings.from_env(environ).test_clock_enabled is enabled


def test_clock_settings_refuse_the_test_clock_in_prod() -> None:
    with pytest.raises(ValidationError, match="MP_TEST_CLOCK cannot be enabled in the prod stage"):
        ClockSettings.from_env({"MP_STAGE": "prod", "MP_TEST_CLOCK": "true"})
