"""Idle-day benchmark (issue 15's billing day, ADR 0111): what one business day with nothing due
costs the daily schedules, per tenant.

    .venv/bin/python -m bench.billing_day [--tenants 200] [--days 1]

Starts moto server in this process (free port) with the topology's tables, seeds `--tenants`
tenants with one MONTHLY subscription each (started two days ago: mid-period, nothing due), and
then fires one idle business day of every daily schedule of `infra.topology.SCHEDULES` — the real
functions (`billing_scheduler`, `payments_scheduler` ×2, `reconciler`) invoked as the test clock's
advance invokes them (the local Lambda runtime, the EventBridge Scheduler event of each fire time).
Every DynamoDB call the functions make is counted per function (bench/ingest.py's hooks), with the
write units of what they write and the items their reads returned. Prints seconds and calls per
firing, and calls per firing per tenant; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.ingest import READS, calls, counting, instrument, invoked_function, quiet_bench_process, units
from bench.moto import moto_with_tables

ENV = {
    "MP_STAGE": "test",
    "MP_CORE_TABLE": "meterplex-bench-core",
    "MP_USAGE_TABLE": "meterplex-bench-usage",
    "MP_KAFKA_BOOTSTRAP": "127.0.0.1:1",  # an idle day produces nothing
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "bench",
}
DAILY = ("billing-daily", "payments-twice-daily", "reconciliation-daily")
items_read: Counter[str] = Counter()  # function → items returned by its reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args()
    quiet_bench_process()
    instrument(after_call=_count_items)
    with moto_with_tables(ENV):
        run(args.tenants, args.days)


def _count_items(parsed: dict[str, Any], model: Any, **_: Any) -> None:
    function = invoked_function()
    if function is None or not counting.is_set() or model.name not in READS:
        return
    if "Count" in parsed:
        items_read[function] += int(parsed["Count"])
    elif "Item" in parsed:
        items_read[function] += 1
    elif "Responses" in parsed:
        responses = parsed["Responses"]
        items_read[function] += (
            sum(len(v) for v in responses.values()) if isinstance(responses, dict) else len(responses)
        )


def seed(tenants: int, started: datetime) -> None:
    import uuid

    from bench.billing import build_plan
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.platform.clock import FixedClock
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository
    from meterplex.subscriptions.service import SubscriptionService

    plan, price, _ = build_plan()
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), FixedClock(started))
    for _ in range(tenants):
        service.subscribe(str(uuid.uuid4()), plan_id=plan.id, price_id=price.id)


def run(tenants: int, days: int) -> None:
    from infra import topology
    from infra.local.functions import FunctionRunner
    from infra.local.scheduler import schedule_event
    from meterplex.platform.schedules import due_firings

    now = datetime.now(UTC)
    started = time.perf_counter()
    seed(tenants, now - timedelta(days=2))
    print(f"\nidle-day bench (moto server; {now:%Y-%m-%d}, load average {os.getloadavg()[0]:.1f})")
    took = time.perf_counter() - started
    print(f"  set-up: {tenants} tenants, one MONTHLY subscription each, in {took:.1f}s")

    runner = FunctionRunner()
    schedules = [s for s in topology.SCHEDULES if s.name in DAILY]
    day = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for at, schedule in due_firings(schedules, day - timedelta(days=1), day - timedelta(seconds=1)):
        runner.invoke(schedule.function, schedule_event(schedule, at))  # warm: cold starts apart
    seconds: dict[str, float] = defaultdict(float)
    firings: Counter[str] = Counter()
    counting.set()
    for at, schedule in due_firings(schedules, day, day + timedelta(days=days)):
        began = time.perf_counter()
        runner.invoke(schedule.function, schedule_event(schedule, at))
        seconds[schedule.function] += time.perf_counter() - began
        firings[schedule.function] += 1
    counting.clear()
    print(f"  {days} idle day(s), {sum(firings.values())} firings, {sum(seconds.values()):.2f}s in all")
    for function, n in firings.items():
        ops = {op: c for (f, op), c in calls.items() if f == function}
        per = ", ".join(f"{c / n:g} {op}" for op, c in sorted(ops.items()))
        reads = sum(c for op, c in ops.items() if op in READS)
        print(
            f"  {function:20s} {seconds[function] / n * 1000:8.1f} ms per firing "
            f"({seconds[function] / n / tenants * 1000:.2f} ms per tenant); per firing: {per or 'no calls'}"
        )
        per_tenant = n * tenants
        print(
            f"  {'':20s} per firing per tenant: {reads / per_tenant:.3f} reads "
            f"({items_read[function] / per_tenant:.3f} items), "
            f"{units[function] / per_tenant:.3f} write units"
        )


if __name__ == "__main__":
    main()
