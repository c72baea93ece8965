"""The usage watermarks (ADR 0042): kept until read after they can no longer change; JSON round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterplex.billing.rating import OveragePricing, Reading
from meterplex.billing.usage_billed import PRUNE_GRACE, UsageBilledState
from meterplex.entitlements.counters import NEVER_ENDS

LATE = timedelta(days=35)
JAN, FEB = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
PRICING = OveragePricing(10, 5)


def reading(window_start: str, counted: int, window_end: str = "2026-02-01T00:00:00.000Z") -> Reading:
    return Reading("sub", "calls", window_start, window_end, counted)


def test_a_counter_is_kept_until_read_after_it_could_last_change() -> None:
    january = reading("2026-01-01T00:00:00.000Z", 40)
    state = UsageBilledState().advanced([(january, PRICING, FEB)], FEB, late_window=LATE)
    assert state.previously_counted(("sub", "calls", january.window_start)) == 40 and state.version == 1
    # read again just inside the horizon: kept (a late event could still land)
    inside = state.advanced([(january, PRICING, FEB)], FEB + LATE + PRUNE_GRACE, late_window=LATE)
    assert inside.counters
    # read once beyond it: that read saw its final value; dropped
    beyond = inside.advanced(
        [(january, PRICING, FEB)], FEB + LATE + PRUNE_GRACE + timedelta(days=1), late_window=LATE
    )
    assert not beyond.counters and beyond.version == 3


def test_a_window_that_never_resets_is_kept_and_the_watermark_never_goes_back() -> None:
    seats = reading("2026-01-01T00:00:00.000Z", 12, NEVER_ENDS)
    never = datetime.fromisoformat("9999-12-31T23:59:59.999+00:00")
    state = UsageBilledState().advanced(
        [(seats, PRICING, never)], datetime(2030, 1, 1, tzinfo=UTC), late_window=LATE
    )
    lower = reading("2026-01-01T00:00:00.000Z", 9, NEVER_ENDS)
    again = state.advanced([(lower, PRICING, never)], datetime(2031, 1, 1, tzinfo=UTC), late_window=LATE)
    assert again.previously_counted(("sub", "calls", seats.window_start)) == 12
    assert UsageBilledState.from_json(again.version, again.to_json()) == again
