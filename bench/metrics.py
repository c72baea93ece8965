"""What the usage aggregator's metrics cost per counted event: CPU time and EMF bytes written to
CloudWatch Logs (billed at ingestion), for a Kafka batch of 500 newly counted events.

`python -m bench.metrics` (no AWS, no network): runs `usage.metrics.record_counted` with the real
Powertools Metrics object and serializes what its flush would print (ADR 0100).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
import warnings
from datetime import UTC, datetime, timedelta

LOGS_INGESTION_USD_PER_GB = 0.50  # CloudWatch Logs, us-east-1, standard class


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500, help="events counted per invocation")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "meterplex-usage_aggregator")
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    from meterplex.platform.clock import FixedClock, iso
    from meterplex.platform.ids import new_id
    from meterplex.platform.observability import metrics
    from meterplex.usage.counters import Applied
    from meterplex.usage.metrics import record_counted
    from meterplex.usage.models import UsageRecord

    now = datetime.now(UTC)
    request = new_id()
    usages = [
        UsageRecord(
            "t",
            f"e-{i}",
            "calls",
            1,
            iso(now),
            "s",
            iso(now),
            iso(now + timedelta(days=30)),
            iso(now),
            request_id=request,
            request_index=i,
        )
        for i in range(args.batch)
    ]
    clock = FixedClock(now + timedelta(milliseconds=350))
    applied = Applied(counted=usages)
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        for _ in range(args.rounds):
            record_counted(applied, clock)
            metrics.flush_metrics()
    elapsed = time.perf_counter() - started
    lines = [line for line in printed.getvalue().splitlines() if line.startswith("{")]
    per_batch_bytes = sum(len(line) + 1 for line in lines) / args.rounds
    per_event_bytes = per_batch_bytes / args.batch
    records = len(lines) / args.rounds
    sample = json.loads(lines[0])
    print(f"batch of {args.batch} counted events, {args.rounds} rounds (record_counted + flush)")
    print(f"  CPU per counted event: {elapsed / (args.rounds * args.batch) * 1e6:.1f} µs")
    print(f"  EMF records per batch: {records:.0f} (Powertools: ≤ 100 values per metric per record)")
    print(f"  EMF bytes per batch:   {per_batch_bytes:,.0f} ({per_event_bytes:.1f} bytes per counted event)")
    per_million = per_event_bytes * 1e6 / 1e9 * LOGS_INGESTION_USD_PER_GB
    print(f"  CloudWatch Logs ingestion: ≈ ${per_million:.4f} per million counted events")
    print(f"  dimensions: {sample['_aws']['CloudWatchMetrics'][0]['Dimensions']}")


if __name__ == "__main__":
    main()
