"""Payments benchmark: provider webhooks processed per second, and DynamoDB calls per webhook.

    .venv/bin/python -m bench.payments [--webhooks 100] [--senders 4]

Starts a LocalCloud in this process (moto, Tansu, the stream and Kafka pollers, the gateway, on
free ports). `--webhooks` tenants subscribe, their invoices are generated and finalized, and the
pipeline (`invoice.finalized` → payment_collector → the fake provider) gives each a PENDING
attempt. Then, with every DynamoDB call counted by the function that made it (bench/ingest.py's
hooks), each attempt's `payment.succeeded` is POSTed to `/api/v1/webhooks/fake` over HTTP by
`--senders` threads, and the clock runs until every stored event is processed by payment_events
(attempt SUCCEEDED, invoice PAID, collection settled, outbox `invoice.paid`). Also one webhook
delivered 5 times (redeliveries). Prints figures; never passes or fails on time.

Target (issue 11): ≤ 4 DynamoDB calls per webhook (receiver + processor). The test clock is off
(`MP_TEST_CLOCK=false`, as in production): with it on, every invocation also reads the `CLOCK`
item (one GetItem), which production never pays. Write units assume items ≤ 1 KB (a transactional
write costs 2 per item).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.billing import build_plan, subscribe
from bench.ingest import READS, WRITES, calls, counting, instrument, items_written, quiet_bench_process

PRODUCTION_CLOCK = {"MP_TEST_CLOCK": "false"}  # business time = system time: no CLOCK reads

PATH = "/api/v1/webhooks/fake"
WAIT_S = 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    quiet_bench_process()
    os.environ |= PRODUCTION_CLOCK
    instrument()

    from infra.local.cloud import LocalCloud
    from infra.local.net import free_port

    with LocalCloud(port=free_port(), moto_port=0, kafka_port=0) as cloud:
        print(f"\npayments bench (LocalCloud: moto server + Tansu; {datetime.now(UTC):%Y-%m-%d})")
        pending = prepare(args.webhooks)
        deliver(cloud.url, pending, args.senders)
        redeliver(cloud.url)


def prepare(n: int) -> list[tuple[str, str]]:
    """`n` finalized invoices, each with a PENDING fake attempt: (tenant, provider payment id)."""
    from meterplex.billing.dependencies import billing_service
    from meterplex.payments.dependencies import repository

    began = time.perf_counter()
    plan = build_plan()
    tenants = []
    for _ in range(n):
        sub = subscribe(plan, datetime.now(UTC) - timedelta(days=3))
        invoice = billing_service().generate(sub.tenant_id)
        billing_service().finalize(sub.tenant_id, invoice.id)
        tenants.append(sub.tenant_id)
    pending: list[tuple[str, str]] = []
    deadline = time.monotonic() + WAIT_S
    for tenant in tenants:
        while True:
            found = repository().payments(tenant, None, 10)[0]
            if found and found[0].provider_payment_id:
                pending.append((tenant, found[0].provider_payment_id))
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"no payment attempt for {tenant}: is payment_collector running?")
            time.sleep(0.02)
    print(f"   prepared {n} finalized invoices with a PENDING attempt in {time.perf_counter() - began:.0f} s")
    return pending


def _post(http: Any, url: str, provider_payment_id: str, event_id: str) -> None:
    body = {"type": "payment.succeeded", "providerPaymentId": provider_payment_id, "id": event_id}
    reply = http.post(url + PATH, json=body, timeout=30)
    assert reply.status_code == 200, reply.text


def _processed(keys: list[str]) -> int:
    from meterplex.payments.dependencies import repository

    statuses = repository().event_statuses([("fake", k) for k in keys])
    return sum(1 for s in statuses.values() if s != "RECEIVED")


def deliver(url: str, pending: list[tuple[str, str]], senders: int) -> None:
    import requests

    keys = [f"bench-{pid}" for _, pid in pending]
    chunks = [pending[i::senders] for i in range(senders)]
    calls.clear()
    items_written.clear()
    counting.set()
    began = time.perf_counter()

    def send(chunk: list[tuple[str, str]]) -> None:
        http = requests.Session()
        for _, pid in chunk:
            _post(http, url, pid, f"bench-{pid}")

    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = time.perf_counter()
    deadline = time.monotonic() + WAIT_S
    while _processed(keys) < len(keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    done = time.perf_counter()
    time.sleep(2)  # let the downstream consumers (ledger, collector) finish their share
    counting.clear()
    n = len(pending)
    print(f"\n1. {n} webhooks over HTTP ({senders} senders)")
    print(f"   answered 200 (stored):         {n / (answered - began):8.1f} webhooks/s")
    print(f"   processed (attempt, invoice):  {n / (done - began):8.1f} webhooks/s  ({done - began:.1f} s)")
    print("   DynamoDB calls per webhook, by function:")
    per_function: dict[str, Counter[str]] = {}
    for (function, operation), count in calls.items():
        per_function.setdefault(function, Counter())[operation] += count
    path_total = path_units = 0.0
    for function in sorted(per_function):
        ops = per_function[function]
        total = sum(ops.values()) / n
        reads = sum(k for op, k in ops.items() if op in READS) / n
        writes = sum(k for op, k in ops.items() if op in WRITES) / n
        units = write_units(function, ops) / n
        if function in ("webhooks_api", "payment_events"):
            path_total += total
            path_units += units
        by_op = {op: round(k / n, 2) for op, k in sorted(ops.items())}
        print(
            f"   {function:>18}: {total:5.2f} calls ({reads:.2f} reads, {writes:.2f} writes, "
            f"{items_written[function] / n:.2f} items written, {units:.1f} WCU)  {by_op}"
        )
    print(
        f"   webhook path (webhooks_api + payment_events): {path_total:.2f} calls per webhook "
        f"(target ≤ 4), {path_units:.1f} write units"
    )
    print(
        "   (ledger_writer: the PAYMENT entry of invoice.paid; payment_collector: the same event, the"
        " collection already settled; outbox_relay: reads nothing)"
    )


def write_units(function: str, ops: Counter[str]) -> int:
    """Write units of `function`'s writes: 2 per item of a transaction, 1 per other item (≤ 1 KB;
    a BatchWriteItem's items count as transactional: no payments function batch-writes)."""
    single = sum(k for op, k in ops.items() if op in WRITES - {"TransactWriteItems", "BatchWriteItem"})
    return 2 * (items_written[function] - single) + single


def redeliver(url: str) -> None:
    """One event delivered 5 times: 1 stored, 4 duplicates answered 200 (one PutItem each)."""
    import requests

    calls.clear()
    counting.set()
    for _ in range(5):
        _post(requests.Session(), url, "fake_pi_bench_redelivered", "bench-redelivered")
    deadline = time.monotonic() + WAIT_S
    while _processed(["bench-redelivered"]) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # dead-lettered by payment_events (UNKNOWN_PAYMENT)
    time.sleep(0.5)
    counting.clear()
    receiver = sum(k for (fn, _), k in calls.items() if fn == "webhooks_api")
    processor = sum(k for (fn, _), k in calls.items() if fn == "payment_events")
    print("\n2. one unknown payment's webhook delivered 5 times")
    print(f"   webhooks_api: {receiver} calls (one conditional PutItem per delivery, 1 stored)")
    print(f"   payment_events: {processor} calls (one record: the reference lookup, then dead-lettered)")


if __name__ == "__main__":
    main()
