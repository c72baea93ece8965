"""Three months of billing history for the demo tenants, so a newcomer sees billing on first start:
usage per period, invoices issued by the billing run (finalized), paid ones, a voided one, and —
once the local cloud's pipeline relays their events — ledger entries and balances.

Written through the real services on fixed clocks walking forward in time (subscribe, consume in
each window, settle each period at the run after its end, pay or void), so the data is exactly
what the platform would have produced. Only called when the tenant's subscription is created here
(`seed_demo`), so a restart adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meterplex.catalog.models import Price
from meterplex.periods import add_months

MONTHS = 3
RUN_DELAY = timedelta(minutes=5)  # the daily run fires at 00:05: a little after each period end


@dataclass(frozen=True)
class History:
    """One demo tenant's story: usage per ended period, what happened to each period's invoice,
    and the usage of the period running now (SPEC §9's "some usage")."""

    started_months_ago: int  # (and two days): the last ended period's run came and went
    usage: list[dict[str, int]]  # per ended period, consumed ten days before its end
    fate: list[str]  # per invoice: "paid", "open" (finalized, unpaid) or "void"
    current: dict[str, int] = field(default_factory=dict)


HISTORY: dict[str, History] = {
    "acme-corp": History(
        started_months_ago=3,
        usage=[
            {"api_calls": 52_000, "storage": 12, "team_seats": 6},
            {"api_calls": 47_500, "storage": 9},
            {"api_calls": 55_250, "storage": 14},
        ],
        fate=["paid", "paid", "open"],
        current={"api_calls": 12_345, "storage": 4},
    ),
    "globex": History(
        started_months_ago=3,
        usage=[
            {"api_calls": 800, "storage": 2, "team_seats": 2},
            {"api_calls": 950, "storage": 1},
            {"storage": 3},
        ],
        fate=["paid", "void", "open"],
        current={"api_calls": 250, "storage": 1},
    ),
    # SPEC §9: stark is on the annual enterprise plan: one annual invoice, issued three months ago
    "stark": History(
        started_months_ago=15,
        usage=[{"api_calls": 540_000, "storage": 130, "team_seats": 21}],
        fate=["paid"],
        current={"api_calls": 48_000, "storage": 37},
    ),
}


def seed_history(tenant_id: str, slug: str, price: Price, plan_id: str, now: datetime) -> None:
    """Subscribe `tenant_id` in the past and play its history forward to `now`."""
    from meterplex.billing.dependencies import billing_service
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.entitlements.service import EntitlementService
    from meterplex.entitlements.store import GrantStore
    from meterplex.platform.clock import FixedClock
    from meterplex.subscriptions.models import next_billing_step
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository
    from meterplex.subscriptions.service import SubscriptionService

    history = HISTORY[slug]
    clock = FixedClock(add_months(now, -history.started_months_ago) - timedelta(days=2))
    sub = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock).subscribe(
        tenant_id, plan_id=plan_id, price_id=price.id
    )
    hot_path = EntitlementService(GrantStore(), clock)
    billing = billing_service().on_clock(clock)
    for usage, fate in zip(history.usage, history.fate, strict=True):
        step = next_billing_step(DynamoSubscriptionRepository().get(tenant_id, sub.id) or sub)
        assert step is not None
        clock.set(step.bills_until - timedelta(days=10))  # usage late in the period (its last window)
        for feature, amount in usage.items():
            hot_path.consume(tenant_id, feature, amount)
        run = step.due_at + RUN_DELAY
        [invoice] = billing.settle(tenant_id, sub.id, run).invoices
        clock.set(run + timedelta(days=5))
        if fate == "paid":
            billing.mark_paid(tenant_id, invoice.id)
        elif fate == "void":
            billing.void(tenant_id, invoice.id)
    clock.set(now)
    for feature, amount in history.current.items():
        hot_path.consume(tenant_id, feature, amount)
