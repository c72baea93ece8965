"""Billing steps (ADR 0043): what billing must settle next for a stored subscription, and after."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from meterplex.catalog.models import Interval
from meterplex.subscriptions.models import (
    StepKind,
    Subscription,
    SubscriptionStatus,
    cancelled_at_period_end,
    cancelled_now,
    next_billing_step,
    settled,
)

JAN31 = datetime(2026, 1, 31, 10, tzinfo=UTC)


def subscription(started: datetime = JAN31, trial_days: int | None = None) -> Subscription:
    trial = started + timedelta(days=trial_days) if trial_days else None
    return Subscription(
        id="s1",
        tenant_id="t1",
        plan_id="p",
        plan_slug="pro",
        plan_name="Pro",
        price_id="pr",
        interval=Interval.MONTHLY,
        amount=9900,
        currency="usd",
        status=SubscriptionStatus.TRIALING if trial else SubscriptionStatus.ACTIVE,
        started_at=started,
        trial_ends_at=trial,
        current_period_start=started,
        current_period_end=trial or datetime(2026, 2, 28, 10, tzinfo=UTC),
        created_at=started,
        updated_at=started,
    )


def run(sub: Subscription, until: datetime) -> list[tuple[StepKind, str, str, bool]]:
    """Settle every step due by `until`, as the scheduler would."""
    done = []
    while (step := next_billing_step(sub)) is not None and step.due_at <= until:
        done.append(
            (
                step.kind,
                step.period_start.date().isoformat(),
                step.bills_until.date().isoformat(),
                step.billable,
            )
        )
        sub = settled(sub, step, step.due_at)
    return done


def test_monthly_periods_anchor_to_the_start_day() -> None:
    assert run(subscription(), datetime(2026, 5, 1, tzinfo=UTC)) == [
        (StepKind.FULL, "2026-01-31", "2026-02-28", True),
        (StepKind.FULL, "2026-02-28", "2026-03-31", True),
        (StepKind.FULL, "2026-03-31", "2026-04-30", True),
    ]


def test_a_trial_ends_on_time_and_the_first_paid_period_starts_there() -> None:
    sub = subscription(trial_days=14)
    step = next_billing_step(sub)
    assert step is not None and (step.kind, step.due_at, step.billable) == (
        StepKind.TRIAL,
        JAN31 + timedelta(days=14),
        False,
    )
    after = settled(sub, step, step.due_at)
    assert after.status is SubscriptionStatus.ACTIVE
    assert (after.current_period_start, after.current_period_end) == (
        datetime(2026, 2, 14, 10, tzinfo=UTC),
        datetime(2026, 3, 14, 10, tzinfo=UTC),
    )
    assert run(after, datetime(2026, 3, 15, tzinfo=UTC)) == [
        (StepKind.FULL, "2026-02-14", "2026-03-14", True)
    ]


def test_an_immediate_cancel_gets_one_prorated_final_step_after_the_missed_full_ones() -> None:
    # GIVEN billing never ran, and the subscription is cancelled on Apr 7
    cancelled = cancelled_now(subscription(), datetime(2026, 4, 7, 10, tzinfo=UTC))
    # THEN the two full periods are settled first, then the final one, prorated, then nothing
    assert run(cancelled, datetime(2027, 1, 1, tzinfo=UTC)) == [
        (StepKind.FULL, "2026-01-31", "2026-02-28", True),
        (StepKind.FULL, "2026-02-28", "2026-03-31", True),
        (StepKind.FINAL, "2026-03-31", "2026-04-07", True),
    ]


def test_cancel_at_period_end_ends_with_a_full_last_period() -> None:
    ending = cancelled_at_period_end(subscription(), datetime(2026, 2, 10, tzinfo=UTC))
    step = next_billing_step(ending)
    assert step is not None and (step.kind, step.terminal) == (StepKind.FULL, True)
    assert settled(ending, step, step.due_at).status is SubscriptionStatus.CANCELLED
    assert next_billing_step(settled(ending, step, step.due_at)) is None


def test_cancelling_during_the_trial_bills_nothing() -> None:
    cancelled = cancelled_now(subscription(trial_days=14), JAN31 + timedelta(days=3))
    assert run(cancelled, datetime(2027, 1, 1, tzinfo=UTC)) == [
        (StepKind.FINAL, "2026-01-31", "2026-02-03", False)
    ]


def test_a_cancel_exactly_at_the_position_leaves_nothing_to_bill() -> None:
    sub = subscription()
    assert next_billing_step(replace(cancelled_now(sub, JAN31), billed_through=JAN31)) is None
