"""Anchor-to-anchor periods with month-end clamping (SPEC §4), example- and property-based."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meterplex.periods import (
    add_months,
    billing_period_at,
    period_containing,
    usage_window_for,
)


def at(y: int, m: int, d: int, h: int = 0) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


def test_monthly_periods_jan31_clamp_to_feb_end_and_return_to_the_31st() -> None:
    anchor = at(2026, 1, 31, 9)
    assert [add_months(anchor, n) for n in range(4)] == [
        at(2026, 1, 31, 9),
        at(2026, 2, 28, 9),
        at(2026, 3, 31, 9),
        at(2026, 4, 30, 9),
    ]


def test_monthly_period_in_a_leap_year_ends_feb_29() -> None:
    assert period_containing(at(2028, 1, 31), 1, at(2028, 2, 15)) == (at(2028, 1, 31), at(2028, 2, 29))
    assert period_containing(at(2028, 1, 31), 1, at(2028, 3, 1)) == (at(2028, 2, 29), at(2028, 3, 31))


def test_annual_period_from_feb_29_clamps_to_feb_28() -> None:
    assert period_containing(at(2028, 2, 29), 12, at(2029, 6, 1)) == (at(2029, 2, 28), at(2030, 2, 28))


def test_trial_is_its_own_period_then_periods_anchor_at_trial_end() -> None:
    start, trial_end = at(2026, 1, 20), at(2026, 2, 3)
    assert billing_period_at("MONTHLY", start, trial_end, at(2026, 1, 25)) == (start, trial_end)
    assert billing_period_at("MONTHLY", start, trial_end, at(2026, 2, 10)) == (trial_end, at(2026, 3, 3))


def test_usage_window_never_is_the_subscription_lifetime() -> None:
    assert usage_window_for("NEVER", at(2026, 1, 1), None, at(2031, 1, 1)) == (at(2026, 1, 1), None)


@given(anchor=moments, moment=moments, step=st.sampled_from([1, 12]))
def test_period_containing_contains_the_moment_and_lies_on_anchor_boundaries(
    anchor: datetime, moment: datetime, step: int
) -> None:
    start, end = period_containing(anchor, step, moment)
    if moment >= anchor:
        assert start <= moment < end
    else:
        assert start == anchor
    assert start.day == min(anchor.day, end.day) or start.day <= anchor.day
    assert (
        timedelta(days=28 * step - 3 * (step // 12)) <= end - start <= timedelta(days=31 * step + step // 12)
    )
    assert start.time() == anchor.time() and end.time() == anchor.time()


@given(anchor=moments, n=st.integers(min_value=0, max_value=600))
def test_boundaries_never_drift_the_day_comes_back_to_the_anchor_day(anchor: datetime, n: int) -> None:
    boundary = add_months(anchor, n)
    # clamped only when the target month is shorter than the anchor day
    month_end = (boundary + timedelta(days=1)).day == 1
    assert boundary.day == anchor.day or (boundary.day < anchor.day and month_end)


@given(anchor=moments, moment=moments)
def test_consecutive_periods_tile_time_without_gaps(anchor: datetime, moment: datetime) -> None:
    _, end = period_containing(anchor, 1, moment)
    next_start, _ = period_containing(anchor, 1, end)
    assert next_start == end
