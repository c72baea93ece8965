"""The operator overview (`GET /admin/overview`, ADR 0092): bounded reads, no Scan.

| figure | read | cost per call |
| --- | --- | --- |
| tenants by status | all-tenants index (gsi4 `TENANTS`) | ∝ tenants |
| active subscriptions by plan, MRR | the due index (subscriptions still to bill) | ∝ live subscriptions |
| usage accepted today | the day's 8 tally items, one BatchGetItem | 4 RCU |
| invoices outstanding / overdue | the sparse outstanding index (FINALIZED) | ∝ outstanding invoices |
| dead letters open | the OPEN partition of the dead-letter status index | ∝ open dead letters |
| last reconciliation | the runs partition, newest first, to the first finished run | ~1 page |

(eventually consistent Queries: 0.5 RCU per 4 KB read; docs/data-model.md works the numbers.)

MRR: each ACTIVE subscription's price per month in its currency — a monthly price as it is, an
annual one ÷ 12 rounded half up (per subscription, then summed); TRIALING subscriptions count as
active subscriptions but add 0 (they pay nothing yet). Business time: the test clock's, where on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Protocol

from meterplex.admin.schemas import InvoiceTotals, Money, OverviewOut, PlanCount
from meterplex.billing.models import Invoice
from meterplex.catalog.models import Interval
from meterplex.platform.clock import Clock, business_clock, iso
from meterplex.reconciliation.models import Run
from meterplex.reconciliation.schemas import run_out
from meterplex.subscriptions.models import Subscription, SubscriptionStatus, as_of

TENANT_STATUSES = ("ACTIVE", "SUSPENDED", "CANCELLED")


class OverviewSources(Protocol):
    def tenant_status_counts(self) -> dict[str, int]: ...
    def billable_subscriptions(self) -> Iterable[Subscription]: ...
    def accepted_on(self, day: date) -> int: ...
    def outstanding_invoices(self) -> list[Invoice]: ...
    def open_dead_letters(self) -> int: ...
    def last_reconciliation(self) -> Run | None: ...


def monthly_amount(sub: Subscription) -> int:
    """The subscription's price per month in cents: annual ÷ 12, rounded half up."""
    if sub.interval is Interval.ANNUALLY:
        return int((Decimal(sub.amount) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return sub.amount


def _totals(invoices: list[Invoice]) -> InvoiceTotals:
    amounts: Counter[str] = Counter()
    for invoice in invoices:
        amounts[invoice.currency] += invoice.total
    return InvoiceTotals(
        count=len(invoices), amounts=[Money(currency=c, amount=a) for c, a in sorted(amounts.items())]
    )


def build_overview(sources: OverviewSources, now: datetime) -> OverviewOut:
    statuses = dict.fromkeys(TENANT_STATUSES, 0) | sources.tenant_status_counts()
    plans: Counter[tuple[str, str]] = Counter()
    mrr: Counter[str] = Counter()
    for stored in sources.billable_subscriptions():
        sub = as_of(stored, now)
        if not sub.is_live:
            continue
        plans[(sub.plan_id, sub.plan_slug)] += 1
        if sub.status is SubscriptionStatus.ACTIVE:
            mrr[sub.currency] += monthly_amount(sub)
    outstanding = sources.outstanding_invoices()
    last_run = sources.last_reconciliation()
    overdue = [i for i in outstanding if i.due_date is not None and i.due_date < now]
    return OverviewOut(
        as_of=iso(now),
        tenants_by_status=statuses,
        active_subscriptions_by_plan=[
            PlanCount(plan_id=plan_id, plan_slug=slug, count=n)
            for (plan_id, slug), n in sorted(plans.items())
        ],
        mrr=[Money(currency=c, amount=a) for c, a in sorted(mrr.items())],
        usage_accepted_today=sources.accepted_on(now.date()),
        invoices_outstanding=_totals(outstanding),
        invoices_overdue=_totals(overdue),
        dead_letters_open=sources.open_dead_letters(),
        last_reconciliation=run_out(last_run) if last_run is not None else None,
    )


class DynamoOverviewSources:
    """The overview's reads, each through the repository that owns the items."""

    def __init__(self) -> None:
        from meterplex.billing.repository import BillingRepository
        from meterplex.identity.repository import IdentityRepository
        from meterplex.platform.settings import UsageTableSettings, load
        from meterplex.reconciliation.repository import ReconciliationRepository
        from meterplex.subscriptions.repository import DynamoSubscriptionRepository
        from meterplex.usage.repository import AcceptedTally

        self._identity = IdentityRepository()
        self._subscriptions = DynamoSubscriptionRepository()
        self._billing = BillingRepository()
        self._tally = AcceptedTally(load(UsageTableSettings).usage_table)
        self._reconciliation = ReconciliationRepository()

    def tenant_status_counts(self) -> dict[str, int]:
        return self._identity.tenant_status_counts()

    def billable_subscriptions(self) -> Iterable[Subscription]:
        return self._subscriptions.billable()

    def accepted_on(self, day: date) -> int:
        return self._tally.total(day)

    def outstanding_invoices(self) -> list[Invoice]:
        return self._billing.outstanding()

    def open_dead_letters(self) -> int:
        from meterplex.platform.dead_letters import count_open

        return count_open()

    def last_reconciliation(self) -> Run | None:
        return self._reconciliation.latest()


class OverviewService:
    def __init__(self, sources: OverviewSources, clock: Clock = business_clock) -> None:
        self._sources = sources
        self._clock = clock

    def overview(self) -> OverviewOut:
        return build_overview(self._sources, self._clock.now())


@cache
def overview_service() -> OverviewService:
    return OverviewService(DynamoOverviewSources())
