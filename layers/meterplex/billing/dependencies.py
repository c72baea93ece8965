"""The billing service and the ledger, wired to DynamoDB once per process (cold start)."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from meterplex.billing.ledger_repository import LedgerRepository
from meterplex.billing.service import BillingService


@cache
def billing_service() -> BillingService:
    from meterplex.billing.repository import BillingRepository
    from meterplex.entitlements.counters import UsageCounters
    from meterplex.platform.settings import BillingSettings, load
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository

    settings = load(BillingSettings)
    return BillingService(
        BillingRepository(),
        DynamoSubscriptionRepository(),
        UsageCounters(settings.core_table),
        late_window=timedelta(days=settings.late_window_days),
    )


@cache
def ledger() -> LedgerRepository:
    return LedgerRepository()
