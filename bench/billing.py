"""Billing benchmark: what invoicing one subscription costs, and invoices per second.

    .venv/bin/python -m bench.billing [--events 100000] [--subscriptions 1000]

Starts a LocalCloud in this process (moto, Tansu, stream + Kafka pollers, on free ports).

1. DynamoDB calls to invoice one subscription whose period holds 1 usage event, and one whose
   period holds `--events` (target: equal — cost grows with meters, not events; ≤ 10 calls). The
   events are real usage: validated and stored by the ingest service (`UsageIngestService`) and
   counted by the aggregator's code (`CounterStore.apply`), in-process — the usage stream's trigger
   is left out of this bench's local cloud so the pipeline does not count them a second time
   (bench/ingest.py measures that path). Each subscription is then settled by `invoice_worker`,
   invoked with one `invoice.due` message, with a cold invoice-number cache; every DynamoDB call it
   makes is counted (bench/ingest.py's hooks).
2. Invoices per second for `--subscriptions` due subscriptions through the scheduler: the daily
   schedule's event → billing_scheduler → Tansu → the local Kafka poller → invoice_worker, until
   the test clock's completion check says none is due; next to bare PutItem/s on the same moto
   server from one thread (the ratio is the figure: the worker is one Lambda instance at a time).

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from bench.ingest import READS, WRITES, calls, counting, instrument, items_written, quiet_bench_process

PLAN = {
    "calls": ("METERED", {"includedAmount": 50_000, "overagePrice": 10}),
    "api": ("QUOTA", {"limit": 1_000, "limitBehavior": "SOFT", "overagePrice": 5}),
}
STARTED_DAYS_AGO = 33  # the first monthly period has ended; its events are within the late window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--subscriptions", type=int, default=1_000)
    args = parser.parse_args()
    quiet_bench_process()
    instrument()

    from infra import topology
    from infra.local.cloud import LocalCloud
    from infra.local.net import free_port

    bench_topology = SimpleNamespace(**{k: getattr(topology, k) for k in dir(topology) if k.isupper()})
    bench_topology.STREAM_TRIGGERS = tuple(t for t in topology.STREAM_TRIGGERS if t.table != topology.USAGE)
    with LocalCloud(bench_topology, port=free_port(), moto_port=0, kafka_port=0) as cloud:
        print(f"\nbilling bench (LocalCloud: moto server + Tansu; {datetime.now(UTC):%Y-%m-%d})")
        plan = build_plan()
        invoice_cost(cloud, plan, args.events)
        throughput(cloud, plan, args.subscriptions)


# -- setup -----------------------------------------------------------------------------------------
def build_plan() -> Any:
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.catalog.models import FeatureType, Interval

    catalog, suffix = catalog_service(), uuid.uuid4().hex[:8]
    plan = catalog.create_plan(name="Bench", slug=f"bench-{suffix}")
    price = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=4_900, currency="usd")
    keys = {}
    for name, (kind, terms) in PLAN.items():
        key = f"{name}_{suffix}"
        feature = catalog.create_feature(name=name, lookup_key=key, type=FeatureType(kind))
        catalog.create_entitlement(plan.id, feature.id, terms)
        keys[name] = key
    return plan, price, keys


def subscribe(plan: Any, at: datetime) -> Any:
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.platform.clock import FixedClock
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository
    from meterplex.subscriptions.service import SubscriptionService

    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), FixedClock(at))
    return service.subscribe(str(uuid.uuid4()), plan_id=plan[0].id, price_id=plan[1].id)


def count_usage(sub: Any, feature: str, events: int, at: datetime) -> None:
    """`events` usage events stored by the ingest service and counted by the aggregator's code."""
    from meterplex.platform.settings import UsageSettings, load
    from meterplex.usage.aggregator import group_by_counter
    from meterplex.usage.counters import CounterStore
    from meterplex.usage.models import IncomingEvent
    from meterplex.usage.repository import SubscriptionSpans, UsageEventStore
    from meterplex.usage.rules import Caller
    from meterplex.usage.service import UsageIngestService

    settings = load(UsageSettings)
    late = timedelta(days=settings.late_window_days)
    ingest = UsageIngestService(
        SubscriptionSpans(settings.core_table),
        UsageEventStore(settings.usage_table, late_window=late),
        late_window=late,
        future_skew=timedelta(seconds=300),
    )
    counters = CounterStore(settings.core_table, settings.usage_table, late_window=late)
    for first in range(0, events, 1000):
        batch = [
            IncomingEvent(f"bench-{first + i}", feature, 1, at + timedelta(seconds=first + i))
            for i in range(min(1000, events - first))
        ]
        result = ingest.ingest(Caller(sub.tenant_id), batch)
        accepted = [o.record for o in result.outcomes if o.record is not None]
        for key, group in group_by_counter(accepted).items():
            counters.apply(key, group)


def due_batch(sub: Any, as_of: datetime) -> dict[str, Any]:
    from meterplex.billing.events import InvoiceDue
    from meterplex.platform import topics
    from meterplex.subscriptions.models import next_billing_step
    from tests.support.kafka_events import batch

    step = next_billing_step(sub)
    assert step is not None
    message = InvoiceDue(sub.tenant_id, sub.id, step.due_at, as_of).envelope().to_json().encode()
    return batch(topics.INVOICING, [message], first_offset=int(time.time() * 1000))


# -- 1. cost of one invoice --------------------------------------------------------------------------
def invoice_cost(cloud: Any, plan: Any, events: int) -> None:
    from meterplex.billing.dependencies import billing_service
    from meterplex.billing.service import NUMBERS

    now = datetime.now(UTC)
    started = now - timedelta(days=STARTED_DAYS_AGO)
    print("\n1. DynamoDB calls to invoice one subscription (invoice_worker, one invoice.due message)")
    print(f"   {'usage events':>12}  {'calls':>5}  {'reads':>5}  {'writes':>6}  {'items':>5}  by operation")
    for n in (1, events):
        sub = subscribe(plan, started)
        prepared = time.perf_counter()
        count_usage(sub, plan[2]["calls"], n, started + timedelta(days=1))
        took = time.perf_counter() - prepared
        calls.clear()
        items_written.clear()
        NUMBERS.forget()  # both invoices read the number counter (a warm instance usually knows it)
        counting.set()
        reply = cloud.invoke("invoice_worker", due_batch(sub, now))
        counting.clear()
        assert reply == {"batchItemFailures": []}, reply
        ops = Counter({op: k for (fn, op), k in calls.items() if fn == "invoice_worker"})
        reads = sum(k for op, k in ops.items() if op in READS | {"TransactGetItems"})
        writes = sum(k for op, k in ops.items() if op in WRITES)
        [invoice] = billing_service().invoices(sub.tenant_id, None, 10)[0]
        usage = next(line for line in invoice.line_items if line.feature_lookup_key == plan[2]["calls"])
        assert usage.usage[0].counted == n, (usage.usage, n)
        written, by_operation = items_written["invoice_worker"], dict(sorted(ops.items()))
        print(
            f"   {n:>12,}  {sum(ops.values()):>5}  {reads:>5}  {writes:>6}  {written:>5}  {by_operation}"
            f"  (usage prepared in {took:.1f} s; total {invoice.total}¢)"
        )
    print(
        "   items = written by the invoice's one TransactWriteItems (2 write units each, transactional);"
        " the ledger CHARGE adds 4 (ledger_writer)."
    )


# -- 2. throughput -----------------------------------------------------------------------------------
def throughput(cloud: Any, plan: Any, subscriptions: int) -> None:
    from infra import topology
    from infra.local.scheduler import schedule_event
    from meterplex.billing.scheduler import run_completed
    from meterplex.platform.dynamodb import dynamodb_client

    now = datetime.now(UTC)
    started = now - timedelta(days=STARTED_DAYS_AGO)
    prepared = time.perf_counter()
    for _ in range(subscriptions):
        subscribe(plan, started)
    created = time.perf_counter() - prepared
    print(f"\n2. {subscriptions:,} due subscriptions through the scheduler ({created:.0f} s to create them)")
    schedule = topology.SCHEDULES[0]
    began = time.perf_counter()
    result = cloud.invoke(schedule.function, schedule_event(schedule, now))
    fanned = time.perf_counter()
    while not run_completed(result):
        time.sleep(0.05)
    done = time.perf_counter()
    assert result["due"] >= subscriptions, result
    rate = result["due"] / (done - began)
    published = result["published"]
    print(f"   billing_scheduler: {result['due']:,} due → {published:,} messages in {fanned - began:.2f} s")
    print(f"   invoiced, finalized, advanced: {rate:,.1f} invoices/s ({done - began:.1f} s)")

    client, table = dynamodb_client(), os.environ["MP_CORE_TABLE"]
    n = 1_000
    began = time.perf_counter()
    for i in range(n):
        client.put_item(
            TableName=table, Item={"pk": {"S": f"BENCH#{i}"}, "sk": {"S": "PUT"}, "v": {"N": str(i)}}
        )
    puts = n / (time.perf_counter() - began)
    print(f"   bare PutItem on the same moto server, one thread: {puts:,.0f} items/s")
    print(f"   ratio invoices/s ÷ PutItem/s: {rate / puts:.3f}  (one invoice ≈ 5 DynamoDB calls, see 1.)")


if __name__ == "__main__":
    main()
