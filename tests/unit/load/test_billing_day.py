"""The billing day's target: the first `billing-daily` firing (00:05 UTC) after the last period end."""

from __future__ import annotations

from datetime import UTC, datetime

from load.billing_day import due_firing_after


def test_a_period_ending_in_the_afternoon_is_billed_at_the_next_days_run() -> None:
    assert due_firing_after(datetime(2027, 1, 1, 15, 40, tzinfo=UTC)) == datetime(
        2027, 1, 2, 0, 5, tzinfo=UTC
    )


def test_a_period_ending_just_after_midnight_is_billed_the_same_night() -> None:
    assert due_firing_after(datetime(2027, 1, 2, 0, 1, tzinfo=UTC)) == datetime(2027, 1, 2, 0, 5, tzinfo=UTC)


def test_a_period_ending_at_the_firing_itself_waits_for_the_next_one() -> None:
    # strictly after: the harness then knows that firing finds every period ended, whatever the
    # scheduler does with a period ending at its very `time`
    assert due_firing_after(datetime(2027, 1, 2, 0, 5, tzinfo=UTC)) == datetime(2027, 1, 3, 0, 5, tzinfo=UTC)
