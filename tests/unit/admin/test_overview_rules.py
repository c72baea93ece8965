"""The overview's money rules (ADR 0092): annual prices ÷ 12 rounded half up, per subscription;
trials count as subscriptions but add nothing; ended ones count for nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from meterplex.admin.overview import build_overview, monthly_amount
from meterplex.catalog.models import Interval
from meterplex.subscriptions.models import Subscription, SubscriptionStatus

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


def sub(amount: int, interval: Interval = Interval.MONTHLY, **changes: Any) -> Subscription:
    base = Subscription(
        id="s",
        tenant_id="t",
        plan_id="p",
        plan_slug="pro",
        plan_name="Pro",
        price_id="pr",
        interval=interval,
        amount=amount,
        currency="usd",
        status=SubscriptionStatus.ACTIVE,
        started_at=NOW - timedelta(days=10),
        trial_ends_at=None,
        current_period_start=NOW - timedelta(days=10),
        current_period_end=NOW + timedelta(days=20),
        created_at=NOW - timedelta(days=10),
        updated_at=NOW - timedelta(days=10),
        entitlements=[],
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("amount", "interval", "monthly"),
    [
        (2900, Interval.MONTHLY, 2900),
        (27800, Interval.ANNUALLY, 2317),  # 2,316.67
        (94800, Interval.ANNUALLY, 7900),
        (6, Interval.ANNUALLY, 1),  # 0.5 rounds half up
        (5, Interval.ANNUALLY, 0),  # 0.42
    ],
)
def test_monthly_amount_divides_annual_prices_and_rounds_half_up(
    amount: int, interval: Interval, monthly: int
) -> None:
    assert monthly_amount(sub(amount, interval)) == monthly


class Sources:
    def __init__(self, subs: list[Subscription]) -> None:
        self.subs = subs

    def tenant_status_counts(self) -> dict[str, int]:
        return {"ACTIVE": 2}

    def billable_subscriptions(self) -> list[Subscription]:
        return self.subs

    def accepted_on(self, day: date) -> int:
        assert day == NOW.date()
        return 7

    def outstanding_invoices(self) -> list[Any]:
        return []

    def open_dead_letters(self) -> int:
        return 0

    def last_reconciliation(self) -> dict[str, Any] | None:
        return None


def test_trials_count_as_subscriptions_but_add_no_revenue_and_ended_ones_count_nothing() -> None:
    trial = sub(9900, status=SubscriptionStatus.TRIALING, trial_ends_at=NOW + timedelta(days=3))
    ended = sub(9900, ended_at=NOW - timedelta(days=1), status=SubscriptionStatus.CANCELLED)
    overview = build_overview(Sources([sub(2900), sub(27800, Interval.ANNUALLY), trial, ended]), NOW)
    assert [(p.plan_slug, p.count) for p in overview.active_subscriptions_by_plan] == [("pro", 3)]
    assert [(m.currency, m.amount) for m in overview.mrr] == [("usd", 2900 + 2317)]
    assert overview.tenants_by_status == {"ACTIVE": 2, "SUSPENDED": 0, "CANCELLED": 0}
    assert overview.usage_accepted_today == 7 and overview.last_reconciliation is None
