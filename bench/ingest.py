"""Usage ingestion benchmark: events/s end to end (HTTP → counters) next to bare BatchWriteItem on
the same moto server, and DynamoDB write units per event by function.

    .venv/bin/python -m bench.ingest [--events 20000] [--batch 500] [--clients 2] [--bare 5000] [--latency 20]

Starts a LocalCloud in this process (moto, Tansu, gateway, stream + Kafka pollers on free ports),
sets up a plan, a tenant, a subscription and an API key over HTTP, and then:

1. **bare**: `BatchWriteItem` of `--bare` items shaped like a usage item (25 per call, one thread,
   into a scratch table without a stream) on the same moto server — what the emulator itself takes;
2. **throughput**: sends `--events` events in requests of `--batch` over HTTP, `--clients` requests
   at a time (as an application's servers do; usage_api runs two environments locally), and waits
   until the counter `check` reads has them all;
3. **latency**: `--latency` requests of 10 events, one at a time, each waited for until counted
   (ingest → visible on `check`, the pipeline's ≤ 2 s budget).

Every DynamoDB call of the process is counted by botocore hooks registered on each client as it is
created and attributed to the function being invoked (a context variable set by a wrapper around the
local Lambda runtime; a function's worker threads run in a copy of its context). **Write units** are
DynamoDB's on-demand accounting: one per started KB of the item written (the item's size is computed
from the request: names + values), twice that for an item of a transaction (TransactWriteItems), one
per statement of BatchExecuteStatement; an UpdateItem or DeleteItem counts one (these items are < 1
KB). The relay's Kafka producer is wrapped to count messages and flushes.
Prints figures (and the machine's load average); never passes or fails on
time. Targets (issue 14): ≤ 1.2 write units per usage event end to end; end-to-end events/s ≥ 0.4 ×
bare BatchWriteItem items/s. Runs against any commit of the pipeline (it reads no internals).
"""

from __future__ import annotations

import argparse
import contextvars
import logging
import math
import os
import statistics
import threading
import time
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.cpu import CpuSnapshot
from bench.cpu import report as cpu_report
from infra.local.partiql_insert import insert_shape

WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "BatchExecuteStatement",
    "ExecuteStatement",
}
READS = {"GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems"}
KB = 1024

_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("function", default=None)
calls: Counter[tuple[str, str]] = Counter()  # (function, operation) → API calls
items_written: Counter[str] = Counter()  # function → items written
units: Counter[str] = Counter()  # function → write units (transactional items twice)
_lock = threading.Lock()
counting = threading.Event()


def value_size(value: dict[str, Any]) -> int:
    """Approximate stored size of one DynamoDB JSON value (the on-demand accounting's basis)."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return len(raw) // 2 + 2
    if kind == "B":
        return len(raw) if isinstance(raw, bytes) else len(raw) * 3 // 4
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind in {"SS", "NS", "BS"}:
        return sum(len(str(v)) for v in raw)
    return 1


def item_units(item: dict[str, Any]) -> int:
    size = sum(len(name.encode()) + value_size(value) for name, value in item.items())
    return max(1, math.ceil(size / KB))


def statement_units(statement: dict[str, Any]) -> int:
    """An INSERT's item: its parameters and its literals, under the names the statement gives them."""
    shape = insert_shape(statement.get("Statement", ""))
    values = statement.get("Parameters") or []
    if shape is None or len(shape.parameters) != len(values):
        return 1
    return item_units(shape.item(values))


def write_cost(operation: str, params: dict[str, Any]) -> tuple[int, int]:
    """(items written, write units) of one write request."""
    if operation == "TransactWriteItems":
        entries = params.get("TransactItems", [])
        cost = 0
        for entry in entries:
            kind, op = next(iter(entry.items()))
            cost += 2 * (item_units(op["Item"]) if kind == "Put" else 1)
        return len(entries), cost
    if operation == "BatchWriteItem":
        requests = [r for rs in params.get("RequestItems", {}).values() for r in rs]
        cost = sum(item_units(r["PutRequest"]["Item"]) if "PutRequest" in r else 1 for r in requests)
        return len(requests), cost
    if operation == "BatchExecuteStatement":
        statements = params.get("Statements", [])
        return len(statements), sum(statement_units(s) for s in statements)
    if operation == "PutItem":
        return 1, item_units(params.get("Item", {}))
    return 1, 1


def _count(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = _function.get()
    if function is None or not counting.is_set():
        return
    operation = model.name
    with _lock:
        calls[(function, operation)] += 1
        if operation in WRITES:
            written, cost = write_cost(operation, params)
            items_written[function] += written
            units[function] += cost


def instrument(after_call: Any = None) -> None:
    """Hook every botocore client created from now on; tag calls with the invoked function.
    `after_call(parsed, model, **_)`: also called after each DynamoDB call (a bench's own figures)."""
    import botocore.session

    from infra.local.functions import FunctionRunner

    create_client = botocore.session.Session.create_client

    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-parameter-build.dynamodb.*", _count)
            if after_call is not None:
                client.meta.events.register("after-call.dynamodb.*", after_call)
        return client

    botocore.session.Session.create_client = hooked  # type: ignore[method-assign]
    invoke = FunctionRunner.invoke

    def tagged(self: Any, name: str, event: dict[str, Any], **kwargs: Any) -> Any:
        token = _function.set(name)  # a context variable: calls a function makes from its own
        try:  # worker threads are charged to it when it runs them in a copy of its context
            return invoke(self, name, event, **kwargs)
        finally:
            _function.reset(token)

    FunctionRunner.invoke = tagged  # type: ignore[method-assign]


def invoked_function() -> str | None:
    """The function whose invocation is running in this context (None outside any)."""
    return _function.get()


class CountingProducer:
    """The relay's producer, counting messages and flush rounds (one flush per relay batch)."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.messages = Counter[str]()
        self.flushes = 0

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any, on_delivery: Any) -> None:
        if counting.is_set():
            self.messages[topic] += 1
        self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)

    def poll(self, timeout: float) -> int:
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float) -> int:
        if counting.is_set():
            self.flushes += 1
        return int(self._producer.flush(timeout))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._producer, name)


def quiet_bench_process() -> None:
    """A benchmark's process: no demo seed, warnings-only logs, no metrics output (shared by benches)."""
    os.environ |= {
        "MP_SEED_DEMO": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=2, help="clients sending batches at once")
    parser.add_argument("--bare", type=int, default=5_000, help="items for the bare BatchWriteItem run")
    parser.add_argument("--latency", type=int, default=20, help="requests of 10 events, one at a time")
    args = parser.parse_args()
    quiet_bench_process()
    instrument()

    from infra.local.aws import KEEP_ALIVE_ENV, keep_alive_on
    from infra.local.cloud import LocalCloud
    from infra.local.net import free_port

    print(
        f"moto keep-alive: {'on' if keep_alive_on() else 'off'} ({KEEP_ALIVE_ENV}=0: close every connection)"
    )

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared)")
    with LocalCloud(port=free_port(), moto_port=0, kafka_port=0) as cloud:
        run(cloud, args)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def dynamodb() -> Any:
    """A client of the bench's own (MainThread: no function is charged for its calls)."""
    import boto3

    return boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])


def bare_batch_write(items: int, sample: dict[str, Any]) -> float:
    """Items/s of plain BatchWriteItem (25 per call, one thread) on the same moto server."""
    client = dynamodb()
    table = f"bench-bare-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    started = time.perf_counter()
    for first in range(0, items, 25):
        puts = [
            {"PutRequest": {"Item": {**sample, "pk": {"S": f"BARE#{first + i}"}}}}
            for i in range(min(25, items - first))
        ]
        client.batch_write_item(RequestItems={table: puts})
    elapsed = time.perf_counter() - started
    client.delete_table(TableName=table)
    return items / elapsed


def usage_sample(tenant: str) -> dict[str, Any]:
    """A usage event item as the usage table stores them (the bare run writes its shape)."""
    client = dynamodb()
    page = client.scan(TableName=os.environ["MP_USAGE_TABLE"], Limit=50)
    for item in page.get("Items", []):
        if item.get("sk", {}).get("S") == "EVENT" and item.get("tenantId", {}).get("S") == tenant:
            return item
    raise AssertionError("no usage item to copy the shape of")


def run(cloud: Any, args: Any) -> None:
    import requests

    http = requests.Session()
    url = cloud.url
    tenant, key, feature = setup(http, url)
    relay = cloud.functions.load("outbox_relay")
    producer = CountingProducer(relay.producer)
    relay.producer = producer

    def check() -> int:
        reply = http.get(
            f"{url}/api/v1/entitlements/{feature}/check", headers={"authorization": f"Bearer {key}"}
        )
        assert reply.status_code == 200, reply.text
        return int(reply.json()["used"])

    def send(events: list[dict[str, Any]], session: Any = http) -> int:
        reply = session.post(
            f"{url}/api/v1/usage/events", json={"events": events}, headers={"authorization": f"Bearer {key}"}
        )
        assert reply.status_code == 202, reply.text
        return int(reply.json()["accepted"])

    def events(prefix: str, n: int) -> list[dict[str, Any]]:
        at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return [
            {"eventId": f"{prefix}-{i}", "feature": feature, "amount": 1, "timestamp": at} for i in range(n)
        ]

    def wait_for(total: int, deadline_s: float = 300, every_s: float = 0.05) -> None:
        deadline = time.perf_counter() + deadline_s
        while check() < total and time.perf_counter() < deadline:
            time.sleep(every_s)

    # warm every function of the path once, outside the figures
    warmed = send(events("warm", 10))
    wait_for(warmed)
    bare = bare_batch_write(args.bare, usage_sample(tenant))

    total = args.events
    processes = {"local cloud + bench": os.getpid(), "moto": cloud.moto.process_id}
    if cloud.kafka is not None:
        processes["Tansu"] = cloud.kafka.process_id
    cpu_before = CpuSnapshot.take(processes)
    counting.set()
    started = time.perf_counter()
    clients = threading.local()  # each client its own HTTP session (connection)

    def send_batch(first: int) -> int:
        if not hasattr(clients, "http"):
            clients.http = requests.Session()
        return send(events(f"bench-{first}", min(args.batch, total - first)), clients.http)

    with ThreadPoolExecutor(max(1, args.clients), thread_name_prefix="bench-client") as senders:
        accepted = sum(senders.map(send_batch, range(0, total, args.batch)))
    sent = time.perf_counter()
    wait_for(warmed + total)
    done = time.perf_counter()
    cpu_after = CpuSnapshot.take(processes)
    counting.clear()
    assert accepted == total and check() == warmed + total, (accepted, check())
    end_to_end = total / (done - started)

    latencies: list[float] = []
    counted = warmed + total
    for request in range(args.latency):
        began = time.perf_counter()
        counted += send(events(f"lat-{request}", 10))
        wait_for(counted, 30, every_s=0.005)
        latencies.append(time.perf_counter() - began)
    time.sleep(0.2)

    print(
        f"\nusage ingest → counters, {total} events in requests of {args.batch} from {args.clients} "
        "clients at once (LocalCloud: moto + Tansu)"
    )
    print(f"  bare BatchWriteItem, same moto server: {bare:8,.0f} items/s  ({args.bare} items, 25 per call)")
    sending = total / (sent - started)
    print(f"  HTTP sending:                          {sending:8,.0f} events/s ({sent - started:.1f} s)")
    print(f"  end to end (HTTP → counters):          {end_to_end:8,.0f} events/s ({done - started:.1f} s)")
    print(f"  ratio end to end ÷ bare:               {end_to_end / bare:8.2f}   target ≥ 0.4")
    print("  CPU while the events went end to end (where the work is; compare runs back to back):")
    print("\n".join(cpu_report(cpu_before, cpu_after, total)))
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
        print(
            f"  ingest → visible on check ({args.latency} requests of 10): p50 "
            f"{statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms   budget p99 ≤ 2 s"
        )

    per_event = 1 / total
    print("\nDynamoDB per usage event, by function (write units: on demand, a transaction's items twice)")
    for function in sorted({f for f, _ in calls}):
        ops = {op: n for (f, op), n in calls.items() if f == function}
        write_calls = sum(n for op, n in ops.items() if op in WRITES)
        read_calls = sum(n for op, n in ops.items() if op in READS)
        print(
            f"  {function:18} {units[function] * per_event:7.3f} write units  "
            f"({items_written[function] * per_event:6.3f} items, {write_calls * per_event:6.4f} write calls,"
            f" {read_calls * per_event:6.4f} read calls)   {dict(sorted(ops.items()))}"
        )
    print(f"  {'total':18} {sum(units.values()) * per_event:7.3f} write units per event   target ≤ 1.2")
    print(
        f"  {'outbox_relay':18} Kafka: {sum(producer.messages.values()) * per_event:.3f} messages,"
        f" {producer.flushes * per_event:.4f} flushes per event"
    )


def setup(http: Any, url: str) -> tuple[str, str, str]:
    """Plan (admin), tenant + owner (register), subscription, API key — all over HTTP."""
    from infra.local.cloud import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD

    def ok(reply: Any) -> Any:
        assert reply.status_code in (200, 201), reply.text
        return reply.json()

    admin = ok(
        http.post(
            f"{url}/api/v1/auth/login",
            json={
                "email": os.environ.get("MP_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL),
                "password": os.environ.get("MP_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD),
            },
        )
    )
    boss = {"authorization": f"Bearer {admin['accessToken']}"}
    suffix = uuid.uuid4().hex[:8]
    plan = ok(
        http.post(f"{url}/api/v1/plans", json={"name": "Bench", "slug": f"bench-{suffix}"}, headers=boss)
    )
    price = ok(
        http.post(
            f"{url}/api/v1/plans/{plan['id']}/prices",
            json={"interval": "MONTHLY", "amount": 1000, "currency": "usd"},
            headers=boss,
        )
    )
    feature_key = f"bench_calls_{suffix}"
    feature = ok(
        http.post(
            f"{url}/api/v1/features",
            json={"name": "Calls", "lookupKey": feature_key, "type": "METERED"},
            headers=boss,
        )
    )
    ok(
        http.post(
            f"{url}/api/v1/plans/{plan['id']}/entitlements",
            json={"featureId": feature["id"], "includedAmount": 1_000_000, "overagePrice": 1},
            headers=boss,
        )
    )
    owner = ok(
        http.post(
            f"{url}/api/v1/auth/register",
            json={
                "email": f"bench-{suffix}@example.com",
                "password": "DevPass123",
                "firstName": "B",
                "lastName": "Ench",
                "tenantName": "Bench",
                "tenantSlug": f"bench-{suffix}",
            },
        )
    )
    tenant = owner["tenant"]["id"]
    member = {"authorization": f"Bearer {owner['accessToken']}", "x-tenant-id": tenant}
    ok(
        http.post(
            f"{url}/api/v1/subscriptions", json={"planId": plan["id"], "priceId": price["id"]}, headers=member
        )
    )
    key = ok(http.post(f"{url}/api/v1/api-keys", json={"name": "bench"}, headers=member))["key"]
    return tenant, key, feature_key


if __name__ == "__main__":
    main()
