"""The reconciler and the routes' operations, wired to DynamoDB and Lambda once per process."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from meterplex.platform.clock import Clock
from meterplex.reconciliation.operations import ReconciliationOperations
from meterplex.reconciliation.service import Reconciler


@cache
def reconciler() -> Reconciler:
    from meterplex.platform.clock import business_clock

    return make_reconciler(business_clock)


def make_reconciler(clock: Clock) -> Reconciler:
    """A reconciler on `clock` (the platform clock in functions; a fixed one in tests)."""
    from meterplex.billing.ledger_repository import LedgerRepository
    from meterplex.billing.repository import BillingRepository
    from meterplex.entitlements.counters import UsageCounters
    from meterplex.payments.repository import PaymentsRepository
    from meterplex.platform.settings import ReconciliationSettings, load
    from meterplex.reconciliation.repository import ReconciliationRepository
    from meterplex.reconciliation.usage_scan import UsageScan
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository
    from meterplex.usage.counters import CounterStore

    settings = load(ReconciliationSettings)
    subscriptions = DynamoSubscriptionRepository()

    def tenants_billing() -> set[str]:
        far = clock.now() + timedelta(days=3660)  # every subscription still on the due index
        return {due.tenant_id for due in subscriptions.due(far)}

    return Reconciler(
        scan=UsageScan(settings.usage_table, segments=settings.scan_segments),
        counting=CounterStore(
            settings.core_table,
            settings.usage_table,
            clock=clock,
            late_window=timedelta(days=settings.late_window_days),
        ),
        counters=UsageCounters(settings.core_table),
        billing=BillingRepository(),
        ledger=LedgerRepository(),
        store=ReconciliationRepository(),
        clock=clock,
        tenants_billing=tenants_billing,
        late_window=timedelta(days=settings.late_window_days),
        settle=timedelta(seconds=settings.settle_s),
        payments=PaymentsRepository(),
    )


@cache
def operations() -> ReconciliationOperations:
    from meterplex.identity.repository import IdentityRepository
    from meterplex.platform.clock import business_clock
    from meterplex.platform.settings import ReconciliationSettings, load
    from meterplex.reconciliation.operations import invoke_reconciler
    from meterplex.reconciliation.repository import ReconciliationRepository

    settings = load(ReconciliationSettings)
    identity = IdentityRepository()
    return ReconciliationOperations(
        ReconciliationRepository(),
        business_clock,
        invoke_reconciler(settings.reconciler_function),
        tenant_exists=lambda tenant_id: identity.get_tenant(tenant_id) is not None,
    )
