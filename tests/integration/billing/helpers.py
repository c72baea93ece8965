"""Billing test helpers: a tenant subscribed at a fixed moment, usage counted at fixed moments, the
billing service on a fixed clock, and the billing functions invoked as Lambda would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.functions import LambdaContext
from meterplex.billing.repository import BillingRepository
from meterplex.billing.service import BillingService, NumberCache
from meterplex.catalog.dependencies import catalog_service
from meterplex.entitlements.counters import UsageCounters
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.platform.clock import Clock, FixedClock
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.models import Subscription
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import PlanFixture, build_plan

LATE_WINDOW = timedelta(days=35)

# A "pro"-like plan (SPEC §9): a SOFT quota, a METERED feature, a NEVER-resetting SOFT quota, plus a
# HARD quota and a BOOLEAN that must produce no line.
PRO = {
    "api_calls": ("QUOTA", {"limit": 50_000, "limitBehavior": "SOFT", "overagePrice": 10}),
    "storage": ("METERED", {"includedAmount": 10, "overagePrice": 200}),
    "seats": (
        "QUOTA",
        {"limit": 10, "limitBehavior": "SOFT", "overagePrice": 100_000, "resetPeriod": "NEVER"},
    ),
    "exports": ("QUOTA", {"limit": 5}),
    "sso": ("BOOLEAN", {"value": True}),
}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def billing(clock: Clock | None = None) -> BillingService:
    return BillingService(
        BillingRepository(),
        DynamoSubscriptionRepository(),
        UsageCounters(load(CoreTableSettings).core_table),
        late_window=LATE_WINDOW,
        clock=clock or FixedClock(datetime.now(UTC)),
        numbers=NumberCache(),
    )


@dataclass
class Tenant:
    id: str
    plan: PlanFixture
    clock: FixedClock
    subscription: Subscription
    subscriptions: list[Subscription] = field(default_factory=list)

    def key(self, name: str) -> str:
        return self.plan.features[name]

    def use(self, name: str, amount: int, when: datetime) -> None:
        """`amount` units consumed at `when` (the hot path's counter: what invoices bill)."""
        self.clock.set(when)
        EntitlementService(GrantStore(), self.clock).consume(self.id, self.key(name), amount)

    def subscriptions_service(self) -> SubscriptionService:
        return SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), self.clock)

    def reload(self) -> Subscription:
        sub = DynamoSubscriptionRepository().get(self.id, self.subscription.id)
        assert sub is not None
        return sub


def subscribed(
    started: datetime,
    grants: dict[str, tuple[str, dict[str, Any]]] | None = None,
    *,
    monthly: int = 9900,
    annual: bool = False,
    trial_days: int | None = None,
    plan: PlanFixture | None = None,
) -> Tenant:
    plan = plan or build_plan(grants or PRO, monthly=monthly)
    tenant, clock = str(uuid.uuid4()), FixedClock(started)
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock)
    price = plan.annual_price_id if annual else plan.monthly_price_id
    sub = service.subscribe(tenant, plan_id=plan.id, price_id=price, trial_days=trial_days)
    return Tenant(tenant, plan, clock, sub, [sub])


def lines(invoice: Any) -> list[tuple[str, str | None, int, int]]:
    """(kind, feature, quantity, amount) per line, in order."""
    return [
        (line.kind.value, line.feature_lookup_key, line.quantity, line.amount) for line in invoice.line_items
    ]


def invoke(module: Any, event: dict[str, Any], name: str) -> Any:
    return module.lambda_handler(event, LambdaContext(name))


def outbox(tenant_id: str, topic: str) -> list[bytes]:
    """The tenant's outbox payloads for `topic`, in write order (what the relay would produce)."""
    from meterplex.platform.dynamodb import dynamodb_client

    request: dict[str, Any] = {
        "TableName": load(CoreTableSettings).core_table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"OUTBOX#{tenant_id}"}},
        "ConsistentRead": True,
    }
    payloads: list[bytes] = []
    while True:
        page = dynamodb_client().query(**request)
        payloads += [i["payload"]["S"].encode() for i in page["Items"] if i["outbox"]["S"] == topic]
        if "LastEvaluatedKey" not in page:
            return payloads
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def function(name: str, instance: int = 0) -> Any:
    """functions/<name>/handler.py as one warm Lambda instance (`instance`: another one, with its
    own module state — a Lambda instance handles one event at a time, so concurrent calls need
    several, each on its own thread, with per-thread Powertools state as the local cloud has)."""
    import importlib.util

    from infra.local.isolation import isolate_powertools_state
    from tests.integration.catalog.handlers import ROOT

    isolate_powertools_state()
    if (name, instance) not in _modules:
        path = ROOT / "functions" / name / "handler.py"
        spec = importlib.util.spec_from_file_location(f"fn_{name}_billing_tests_{instance}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[(name, instance)] = module
    return _modules[(name, instance)]


_modules: dict[tuple[str, int], Any] = {}


def write_ledger(tenant_id: str, *, repeat: int = 1, first_offset: int = 0) -> dict[str, Any]:
    """Carry the tenant's billing events to ledger_writer as one Kafka batch (`repeat` times each)."""
    from meterplex.platform import topics
    from tests.support.kafka_events import batch

    values = [v for v in outbox(tenant_id, topics.BILLING) for _ in range(repeat)]
    event = batch(topics.BILLING, values, first_offset=first_offset)
    return invoke(function("ledger_writer"), event, "ledger_writer")


def run_billing(when: datetime, *, times: int = 1, concurrently: bool = False) -> list[dict[str, Any]]:
    """Fire billing_scheduler with the Scheduled Event of `when` (`times` runs, at once if
    `concurrently`), capture what it publishes, and deliver it to invoice_worker as Kafka would
    (one batch per run). Returns the runs' results."""
    import threading

    from infra import topology
    from infra.local.scheduler import schedule_event
    from meterplex.platform import topics
    from tests.support.kafka_events import batch

    # concurrent runs are separate Lambda instances: one instance handles one event at a time
    schedulers = [function("billing_scheduler", i if concurrently else 0) for i in range(times)]
    published: list[list[bytes]] = []
    lock = threading.Lock()

    def capture(messages: list[Any]) -> int:
        with lock:
            published.append([m.envelope().to_json().encode() for m in messages])
        return len(messages)

    for scheduler in schedulers:
        scheduler.publish = capture  # the broker is tested elsewhere (test_scheduled_billing)
    schedule = topology.SCHEDULES[0]
    results: list[dict[str, Any]] = []

    def fire(scheduler: Any) -> None:
        results.append(invoke(scheduler, schedule_event(schedule, when), "billing_scheduler"))

    if concurrently:
        threads = [threading.Thread(target=fire, args=(s,)) for s in schedulers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for scheduler in schedulers:
            fire(scheduler)
    workers = [function("invoice_worker", i) for i in range(len(published))]
    replies: list[Any] = []

    def deliver(worker: Any, values: list[bytes], offset: int) -> None:
        replies.append(invoke(worker, batch(topics.INVOICING, values, first_offset=offset), "invoice_worker"))

    threads = [
        threading.Thread(target=deliver, args=(w, v, i * 1000))
        for i, (w, v) in enumerate(zip(workers, published, strict=True))
        if v
    ]
    for thread in threads:
        thread.start()
        if not concurrently:
            thread.join()
    for thread in threads:
        thread.join()
    assert all(r == {"batchItemFailures": []} for r in replies), replies
    return results
