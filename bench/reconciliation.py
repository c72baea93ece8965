"""Reconciliation benchmark (ADR 0095): seconds and DynamoDB read units to reconcile N usage events.

    .venv/bin/python -m bench.reconciliation [--events 100000] [--uncounted 1000]

Starts moto server in this process (free port). One tenant, one METERED feature, `--events`
accepted events stored as ingest stores them (`usage_item`, 1,000 per ingest request with their
request positions), all but `--uncounted` counted by the aggregator's code (`CounterStore.apply`:
counter + counting receipts). Then one reconciliation run of the tenant: the usage Scan, the
re-drive of the uncounted events, the counter, invoice and ledger checks. Prints the run's time,
the Scan's read units (as DynamoDB bills a Scan: 4 KB of items read = 1 unit, halved for eventual
consistency), the units per million events, and the other DynamoDB calls the run made. A second
run shows the steady state (nothing to re-drive). Never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.ingest import quiet_bench_process

REQUEST_SIZE = 1_000
PRICE_PER_MILLION_RRU = 0.125  # USD, DynamoDB on-demand reads (us-east-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--uncounted", type=int, default=1_000)
    args = parser.parse_args()
    quiet_bench_process()

    from infra import topology
    from infra.local.aws import MotoServer, aws_environment, create_tables

    server = MotoServer(port=0)
    endpoint = server.start()
    try:
        os.environ |= aws_environment(endpoint) | {"MP_STAGE": "local"}
        names = {t.name: f"meterplex-bench-{t.name}" for t in topology.TABLES}
        for t in topology.TABLES:
            os.environ[t.env_var] = names[t.name]
        create_tables(topology.TABLES, names, endpoint)
        run(args.events, args.uncounted, names[topology.CORE], names[topology.USAGE])
    finally:
        server.stop()


def run(events: int, uncounted: int, core_table: str, usage_table: str) -> None:
    import botocore.session
    from botocore.config import Config

    from meterplex.platform.clock import FixedClock, iso
    from meterplex.platform.dynamodb import dynamodb_client
    from meterplex.reconciliation.dependencies import make_reconciler
    from meterplex.reconciliation.usage_scan import UsageScan
    from meterplex.usage.counters import CounterStore
    from meterplex.usage.items import usage_item
    from meterplex.usage.models import UsageRecord

    # moto answers a Scan page of a 100,000-item table in minutes, not DynamoDB's ~100 ms
    client = botocore.session.get_session().create_client(
        "dynamodb", config=Config(read_timeout=900, retries={"total_max_attempts": 1})
    )
    now = datetime.now(UTC)
    tenant, subscription, feature = str(uuid.uuid4()), str(uuid.uuid4()), "calls"
    window_start, window_end = iso(now - timedelta(days=3)), iso(now + timedelta(days=27))
    received = iso(now - timedelta(hours=2))
    records = [
        UsageRecord(
            tenant_id=tenant,
            event_id=f"evt-{i:08d}",
            feature=feature,
            amount=1 + i % 3,
            timestamp=received,
            subscription_id=subscription,
            window_start=window_start,
            window_end=window_end,
            received_at=received,
            request_id=f"req-{i // REQUEST_SIZE:06d}",
            request_index=i % REQUEST_SIZE,
        )
        for i in range(events)
    ]
    started = time.perf_counter()
    expires = now + timedelta(days=36)
    for first in range(0, events, 25):
        chunk = [{"PutRequest": {"Item": usage_item(r, expires)}} for r in records[first : first + 25]]
        wanted = {usage_table: chunk}
        while wanted:
            wanted = client.batch_write_item(RequestItems=wanted).get("UnprocessedItems") or {}
    store = CounterStore(
        core_table, usage_table, client, clock=FixedClock(now), late_window=timedelta(days=35)
    )
    counted = records[: events - uncounted]
    for first in range(0, len(counted), REQUEST_SIZE):
        group = counted[first : first + REQUEST_SIZE]
        store.apply(group[0].counter, group)
    print(f"\nreconciliation bench (moto server; {now:%Y-%m-%d})")
    print(
        f"  set-up: {events:,} events stored, {len(counted):,} counted "
        f"in {time.perf_counter() - started:.1f}s"
    )

    calls: dict[str, int] = {}

    def count(event_name: str, **_: object) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    client.meta.events.register("before-call.dynamodb.*", count)
    dynamodb_client().meta.events.register("before-call.dynamodb.*", count)  # the counters' client
    reconciler = make_reconciler(FixedClock(now))
    reconciler.scan = UsageScan(usage_table, client)  # the patient client
    for label in ("first run", "second run"):
        calls.clear()
        started = time.perf_counter()
        stats, findings = reconciler.reconcile(among=[tenant])  # the daily run's unfiltered Scan
        seconds = time.perf_counter() - started
        per_million = stats.read_units * 1_000_000 / max(1, stats.events_read)
        print(
            f"  {label}: {seconds:.1f}s — {stats.events_read:,} events + "
            f"{stats.receipts_read:,} receipts read, "
            f"{stats.events_redriven:,} re-driven, {len(findings)} issue(s) "
            f"({', '.join(sorted({f.category.value for f in findings})) or 'none'})"
        )
        print(
            f"    usage Scan: {stats.read_units:,.1f} read units = {per_million:,.0f} per million events "
            f"(${per_million * PRICE_PER_MILLION_RRU / 1_000_000:.4f} per million events per run)"
        )
        print(f"    DynamoDB calls: {dict(sorted(calls.items()))}")


if __name__ == "__main__":
    main()
