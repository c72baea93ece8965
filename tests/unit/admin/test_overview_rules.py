"""The overview's money rules (ADR 0092): annual prices ÷ 12 rounded half up, per subscription;
trials count as subscriptions but add nothing; ended ones count for nothing; the last finished
reconciliation run is shown as the runs list shows it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from meterplex.admin.overview import build_overview, monthly_amount
from meterplex.catalog.models import Interval
from meterplex.reconciliation.models import Run, RunStats, RunStatus, Trigger
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
    def __init__(self, subs: list[Subscription], last_run: Run | None = None) -> None:
        self.subs = subs
        self.last_run = last_run

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

    def last_reconciliation(self) -> Run | None:
        return self.last_run


def test_trials_count_as_subscriptions_but_add_no_revenue_and_ended_ones_count_nothing() -> None:
    trial = sub(9900, status=SubscriptionStatus.TRIALING, trial_ends_at=NOW + timedelta(days=3))
    ended = sub(9900, ended_at=NOW - timedelta(days=1), status=SubscriptionStatus.CANCELLED)
    overview = build_overview(Sources([sub(2900), sub(27800, Interval.ANNUALLY), trial, ended]), NOW)
    assert [(p.plan_slug, p.count) for p in overview.active_subscriptions_by_plan] == [("pro", 3)]
    assert [(m.currency, m.amount) for m in overview.mrr] == [("usd", 2900 + 2317)]
    assert overview.tenants_by_status == {"ACTIVE": 2, "SUSPENDED": 0, "CANCELLED": 0}
    assert overview.usage_accepted_today == 7 and overview.last_reconciliation is None


def test_the_last_finished_reconciliation_run_is_shown_with_its_findings() -> None:
    # GIVEN a run that finished an hour ago with 2 issues, one re-drive
    categories = {"USAGE_NOT_COUNTED": 1, "LEDGER_ENTRY_MISSING": 1}
    stats = RunStats(
        tenants=3, events_read=40, events_redriven=1, issues=2, open_issues=1, by_category=categories
    )
    started = NOW - timedelta(hours=1)
    run = Run("run-1", Trigger.SCHEDULE, RunStatus.COMPLETED, started, finished_at=started, stats=stats)
    # WHEN the overview is built THEN it carries that run, as the runs list answers it
    last = build_overview(Sources([], run), NOW).model_dump(by_alias=True, mode="json")["lastReconciliation"]
    assert (last["id"], last["status"], last["trigger"]) == ("run-1", "COMPLETED", "SCHEDULE")
    assert (last["stats"]["issues"], last["stats"]["openIssues"], last["stats"]["eventsRedriven"]) == (
        2,
        1,
        1,
    )
    assert last["stats"]["byCategory"] == categories
