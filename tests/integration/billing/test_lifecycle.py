"""Billing through a subscription's life (SPEC §4, §7): trials, cancel at period end, plan changes,
annual plans with monthly windows, and a run that was missed for months."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterplex.billing.models import InvoiceKind
from meterplex.entitlements.counters import Counter, add_on_archive
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.models import SubscriptionStatus, next_billing_step
from tests.integration.billing.helpers import at, billing, lines, subscribed

pytestmark = pytest.mark.usefixtures("moto_endpoint")
CALLS = {"calls": ("METERED", {"includedAmount": 100, "overagePrice": 50})}


def test_a_trial_is_free_ends_on_time_and_the_first_paid_period_starts_there() -> None:
    tenant = subscribed(at(2026, 1, 10), CALLS, monthly=2_000, trial_days=14)
    tenant.use("calls", 500, at(2026, 1, 12))  # trial usage: free
    service = billing()
    # the run the day after the trial ends: no invoice, but the subscription is ACTIVE now
    assert service.settle(tenant.id, tenant.subscription.id, at(2026, 1, 25)).invoices == []
    sub = tenant.reload()
    assert sub.status is SubscriptionStatus.ACTIVE
    assert (sub.current_period_start, sub.current_period_end) == (at(2026, 1, 24), at(2026, 2, 24))
    # the first invoice covers the first paid period, from trialEndsAt
    tenant.use("calls", 150, at(2026, 2, 1))
    [first] = service.settle(tenant.id, tenant.subscription.id, at(2026, 2, 25)).invoices
    assert (first.period_start, first.period_end) == (at(2026, 1, 24), at(2026, 2, 24))
    assert lines(first) == [("BASE_FEE", None, 1, 2_000), ("USAGE", tenant.key("calls"), 50, 25)]


def test_cancel_at_period_end_ends_with_a_full_last_invoice() -> None:
    tenant = subscribed(at(2026, 3, 1), CALLS, monthly=2_000)
    tenant.clock.set(at(2026, 3, 20))
    tenant.subscriptions_service().cancel(tenant.id, tenant.subscription.id, at_period_end=True)
    [last] = billing().settle(tenant.id, tenant.subscription.id, at(2026, 5, 1)).invoices
    assert last.kind is InvoiceKind.FULL and last.total == 2_000
    assert tenant.reload().status is SubscriptionStatus.CANCELLED
    assert next_billing_step(tenant.reload()) is None


def test_a_plan_change_bills_the_old_plan_prorated_and_its_late_usage_on_the_new_plans_invoice() -> None:
    # GIVEN $31/month from Mar 1 (31 days: 100 cents a day), 150 calls used, changed plan on Mar 11
    tenant = subscribed(at(2026, 3, 1), CALLS, monthly=3_100)
    old = tenant.subscription
    tenant.use("calls", 150, at(2026, 3, 5))
    tenant.clock.set(at(2026, 3, 11))
    new = tenant.subscriptions_service().subscribe(
        tenant.id, plan_id=tenant.plan.id, price_id=tenant.plan.monthly_price_id
    )
    service = billing()
    [final] = service.settle(tenant.id, old.id, at(2026, 3, 12)).invoices
    assert final.kind is InvoiceKind.PRORATED
    assert lines(final) == [("BASE_FEE", None, 1, 1_000), ("USAGE", tenant.key("calls"), 50, 25)]
    assert "(prorated: 10/31 days)" in final.line_items[0].description
    # WHEN 40 more units of the old subscription are counted late (an event timestamped Mar 9)
    counter = Counter(tenant.id, tenant.key("calls"), old.id, "2026-03-01T00:00:00.000Z")
    table = load(CoreTableSettings).core_table
    dynamodb_client().transact_write_items(
        TransactItems=[add_on_archive(table, counter, 40, "2026-04-01T00:00:00.000Z")]
    )
    # THEN the new subscription's first invoice carries them once, priced as the old plan priced them
    [first] = service.settle(tenant.id, new.id, at(2026, 4, 12)).invoices
    late = [line for line in first.line_items if line.kind.value == "LATE_USAGE"]
    assert [(line.quantity, line.amount, line.usage[0].subscription_id) for line in late] == [
        (40, 20, old.id)
    ]
    [second] = service.settle(tenant.id, new.id, at(2026, 5, 12)).invoices
    assert [line.kind.value for line in second.line_items] == ["BASE_FEE", "USAGE"]


def test_an_annual_plan_bills_each_monthly_window_with_its_own_allowance() -> None:
    tenant = subscribed(at(2026, 1, 1), CALLS, monthly=1_000, annual=True)  # annual price: 10,000
    tenant.use("calls", 150, at(2026, 1, 15))  # 50 over
    tenant.use("calls", 80, at(2026, 2, 15))  # under
    tenant.use("calls", 300, at(2026, 7, 15))  # 200 over
    [year] = billing().settle(tenant.id, tenant.subscription.id, at(2027, 1, 2)).invoices
    assert (year.period_start, year.period_end) == (at(2026, 1, 1), at(2027, 1, 1))
    [usage] = [line for line in year.line_items if line.kind.value == "USAGE"]
    assert (usage.quantity, usage.amount, len(usage.usage)) == (250, 125, 12)
    assert year.total == 10_000 + 125


def test_a_run_missed_for_months_invoices_every_period_in_order() -> None:
    tenant = subscribed(at(2026, 1, 31, 10), CALLS, monthly=2_000)
    invoices = billing().settle(tenant.id, tenant.subscription.id, at(2026, 5, 1)).invoices
    assert [(i.period_start.date().isoformat(), i.period_end.date().isoformat()) for i in invoices] == [
        ("2026-01-31", "2026-02-28"),
        ("2026-02-28", "2026-03-31"),
        ("2026-03-31", "2026-04-30"),
    ]
    numbers = [int(str(i.invoice_number).rsplit("-", 1)[1]) for i in invoices]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert all(
        i.finalized_at == at(2026, 5, 1) and i.due_date == at(2026, 5, 1) + timedelta(days=30)
        for i in invoices
    )
