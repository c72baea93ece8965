"""A year of monthly billing for the demo tenants (SPEC §9 catalog): the daily schedule fired at
its first 00:05 UTC after each due time, and again the next day (a run with nothing due). 12
invoices each, periods anchored to the start day (Jan 31 → Feb 29 → Mar 31 …, 2028 is a leap year),
totals equal to the table below — computed by hand, not by the code under test.

Usage, consumed on day 10 of each period m = 1 … 12:
* acme-corp (pro, $99): api_calls 45,000 + 1,000·m (50,000 included, 10/100¢), storage 8 + m GB
  (10 included, 200/100¢), team_seats: 7 in period 1 then +1 a period (NEVER resets: 10 included,
  1 seat over = $10.00 — billed as the window grows).
* globex (starter, $29): api_calls 250 (HARD: no line), storage (m mod 3) + 1 GB (1 included, 500/100¢).
* stark (enterprise, monthly here so that it has 12 invoices, $499): api_calls 480,000 + 10,000·m
  (500,000 included, 5/100¢), storage 95 + m GB (100 included, 100/100¢), team_seats 21 (50 included).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.catalog.models import Interval
from meterplex.demo.seed import seed_catalog
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.platform.clock import FixedClock
from meterplex.subscriptions.models import Subscription
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.billing.helpers import at, billing, run_billing

pytestmark = pytest.mark.usefixtures("moto_endpoint")
START = at(2028, 1, 31, 10)

EXPECTED_PERIOD_STARTS = [
    "2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31", "2028-06-30",
    "2028-07-31", "2028-08-31", "2028-09-30", "2028-10-31", "2028-11-30", "2028-12-31",
]  # fmt: skip
# cents per invoice, periods 1 … 12 (base fee + usage lines)
EXPECTED_TOTALS = {
    "acme-corp": [9_900, 9_900, 9_902, 9_904, 10_906, 11_008, 11_110, 11_212, 11_314, 11_416, 11_518, 11_620],
    "globex": [2_905, 2_910, 2_900, 2_905, 2_910, 2_900, 2_905, 2_910, 2_900, 2_905, 2_910, 2_900],
    "stark": [49_900, 49_900, 50_400, 50_900, 51_400, 51_901, 52_402, 52_903, 53_404, 53_905, 54_406, 54_907],
}
PLANS = {"acme-corp": "pro", "globex": "starter", "stark": "enterprise"}


def usage(slug: str, m: int) -> dict[str, int]:
    """Units consumed in period m (the hot path counts them; the invoices bill them)."""
    if slug == "acme-corp":
        return {"api_calls": 45_000 + 1_000 * m, "storage": 8 + m, "team_seats": 7 if m == 1 else 1}
    if slug == "globex":
        return {"api_calls": 250, "storage": m % 3 + 1}
    return {"api_calls": 480_000 + 10_000 * m, "storage": 95 + m, "team_seats": 21 if m == 1 else 0}


def test_a_year_of_monthly_billing_for_the_demo_tenants(nothing_else_due: None) -> None:
    catalog = catalog_service()
    plan_ids = seed_catalog(catalog)
    clock = FixedClock(START)
    subscriptions = SubscriptionService(DynamoSubscriptionRepository(), catalog, clock)
    hot_path = EntitlementService(GrantStore(), clock)
    subs: dict[str, Subscription] = {}
    for slug, plan_slug in PLANS.items():
        plan = catalog.get_plan(plan_ids[plan_slug])
        price = next(p for p in plan.prices if p.interval is Interval.MONTHLY)
        subs[slug] = subscriptions.subscribe(f"demo-{slug}-{START.year}", plan_id=plan.id, price_id=price.id)

    for m in range(1, 13):
        clock.set(period_start(m) + timedelta(days=10))  # usage on day 10 of period m
        for slug, sub in subs.items():
            for feature, amount in usage(slug, m).items():
                if amount:
                    hot_path.consume(sub.tenant_id, feature, amount)
        due = period_start(m + 1)
        fire = (due + timedelta(days=1)).replace(hour=0, minute=5)  # the schedule's next fire time
        run_billing(fire)
        run_billing(fire + timedelta(days=1))

    for slug, sub in subs.items():
        invoices = sorted(billing().invoices(sub.tenant_id, None, 100)[0], key=lambda i: i.period_start)
        assert [i.period_start.date().isoformat() for i in invoices] == EXPECTED_PERIOD_STARTS, slug
        assert [i.total for i in invoices] == EXPECTED_TOTALS[slug], slug
        assert all(i.status.value == "FINALIZED" for i in invoices)
        assert invoices[-1].period_end == at(2029, 1, 31, 10)


def period_start(m: int) -> datetime:
    """Start of period m (13: the end of the year's last period), as the table above spells it."""
    text = EXPECTED_PERIOD_STARTS[m - 1] if m <= 12 else "2029-01-31"
    return datetime.fromisoformat(text).replace(hour=10, tzinfo=START.tzinfo)
