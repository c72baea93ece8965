"""Usage ingestion benchmark: events/s end to end (HTTP → counters) and AWS calls per 1,000 events.

    .venv/bin/python -m bench.ingest [--events 20000] [--batch 500]

Starts a LocalCloud in this process (moto, Tansu, gateway, stream + Kafka pollers on free ports),
sets up a plan, a tenant, a subscription and an API key over HTTP, sends the events in batches over
HTTP, and waits until the counter `check` reads has them all. Every DynamoDB call of the process is
counted by a botocore `before-call.dynamodb.*` hook registered on each client as it is created, and
attributed to the function being invoked on that thread (a wrapper around the local Lambda
runtime); the relay's Kafka producer is wrapped to count messages and flushes, and librdkafka's own
statistics give the produce requests it sent. Prints figures; never passes or fails on time.
Targets (issue 5): ≤ 1.1 DynamoDB writes per ingested event on the ingest side; ≤ 0.2 counter
writes per event in the aggregator at batch size 500.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
import uuid
import warnings
from collections import Counter
from datetime import UTC, datetime
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READS = {"GetItem", "Query", "BatchGetItem", "Scan", "TransactGetItems"}

_local = threading.local()
calls: Counter[tuple[str, str]] = Counter()  # (function, operation) → API calls
items_written: Counter[str] = Counter()  # function → items written (a transaction's items count each)
_lock = threading.Lock()


def _count_call(model: Any, **_: Any) -> None:
    function = getattr(_local, "function", None)
    if function is not None and counting.is_set():
        with _lock:
            calls[(function, model.name)] += 1


def _count_items(params: dict[str, Any], model: Any, **_: Any) -> None:
    """Items a write touches (API parameters, before serialization): a transaction's items each."""
    function = getattr(_local, "function", None)
    if function is None or not counting.is_set():
        return
    operation = model.name
    with _lock:
        if operation == "TransactWriteItems":
            items_written[function] += len(params.get("TransactItems", []))
        elif operation == "BatchWriteItem":
            items_written[function] += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif operation in WRITES:
            items_written[function] += 1


counting = threading.Event()


def instrument() -> None:
    """Hook every botocore client created from now on; tag calls with the invoked function."""
    import botocore.session

    from infra.local.functions import FunctionRunner

    create_client = botocore.session.Session.create_client

    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            client.meta.events.register("before-call.dynamodb.*", _count_call)
            client.meta.events.register("before-parameter-build.dynamodb.*", _count_items)
        return client

    botocore.session.Session.create_client = hooked  # type: ignore[method-assign]
    invoke = FunctionRunner.invoke

    def tagged(self: Any, name: str, event: dict[str, Any]) -> Any:
        previous, _local.function = getattr(_local, "function", None), name
        try:
            return invoke(self, name, event)
        finally:
            _local.function = previous

    FunctionRunner.invoke = tagged  # type: ignore[method-assign]


class CountingProducer:
    """The relay's producer, counting messages and flush rounds (one flush per relay batch)."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.messages = Counter[str]()
        self.flushes = 0

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any) -> None:
        if counting.is_set():
            self.messages[topic] += 1
        self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)

    def poll(self, timeout: float) -> int:
        return int(self._producer.poll(timeout))

    def flush(self, timeout: float) -> int:
        if counting.is_set():
            self.flushes += 1
        return int(self._producer.flush(timeout))


produce_requests = {"count": 0}


def _stats(text: str) -> None:
    stats = json.loads(text)
    produce_requests["count"] = sum(
        int(b.get("req", {}).get("Produce", 0)) for b in stats.get("brokers", {}).values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    os.environ |= {
        "MP_SEED_DEMO": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    instrument()
    import meterplex.platform.kafka as kafka_clients

    create_producer = kafka_clients.create_producer

    def producer_with_stats(settings: Any) -> Any:
        # the platform's producer, plus librdkafka statistics (produce requests per broker)
        return create_producer(settings, {"statistics.interval.ms": 200, "stats_cb": _stats})

    kafka_clients.create_producer = producer_with_stats  # type: ignore[assignment]

    from infra.local.cloud import LocalCloud
    from infra.local.net import free_port

    with LocalCloud(port=free_port(), moto_port=0, kafka_port=0) as cloud:
        run(cloud, args.events, args.batch)


def run(cloud: Any, total: int, batch: int) -> None:
    import requests

    from meterplex.entitlements.keys import GRANT_SK, grant_pk
    from meterplex.platform.clock import iso
    from meterplex.platform.dynamodb import dynamodb_client
    from meterplex.usage.counters import STATS

    http = requests.Session()
    url = cloud.url
    tenant, key, feature = setup(http, url)
    relay = cloud.functions.load("outbox_relay")
    producer = CountingProducer(relay.producer)
    relay.producer = producer
    core = os.environ["MP_CORE_TABLE"]
    probe = dynamodb_client()  # MainThread: not attributed to any function

    def counted() -> int:
        item = probe.get_item(
            TableName=core,
            Key={"pk": {"S": grant_pk(tenant, feature)}, "sk": {"S": GRANT_SK}},
            ConsistentRead=True,
        ).get("Item", {})
        return int(item.get("used", {}).get("N", 0))

    stats_before = (STATS.counter_writes, STATS.mark_writes, STATS.transactions, STATS.grant_reads)
    requests_before = produce_requests["count"]
    counting.set()
    started = time.perf_counter()
    accepted = 0
    for first in range(0, total, batch):
        events = [
            {
                "eventId": f"bench-{first + i}",
                "feature": feature,
                "amount": 1,
                "timestamp": iso(datetime.now(UTC)),
            }
            for i in range(min(batch, total - first))
        ]
        reply = http.post(
            f"{url}/api/v1/usage/events", json={"events": events}, headers={"authorization": f"Bearer {key}"}
        )
        assert reply.status_code == 202, reply.text
        accepted += reply.json()["accepted"]
    sent = time.perf_counter()
    deadline = sent + 300
    while counted() < total and time.perf_counter() < deadline:
        time.sleep(0.02)
    done = time.perf_counter()
    time.sleep(0.5)  # let librdkafka publish its last statistics
    counting.clear()
    assert accepted == total and counted() == total, (accepted, counted())

    per_k = 1000 / total
    print(f"\nusage ingest → counters, {total} events in batches of {batch} (LocalCloud: moto + Tansu)")
    print(f"  HTTP sending: {total / (sent - started):,.0f} events/s ({sent - started:.1f} s)")
    print(
        f"  end to end (HTTP → counters): {total / (done - started):,.0f} events/s ({done - started:.1f} s)"
    )
    print("\nAWS API calls per 1,000 events, by function (DynamoDB: calls / items written)")
    for function in sorted({f for f, _ in calls}):
        ops = {op: n for (f, op), n in calls.items() if f == function}
        writes = sum(n for op, n in ops.items() if op in WRITES)
        reads = sum(n for op, n in ops.items() if op in READS)
        items = items_written[function] * per_k
        print(
            f"  {function:18} DynamoDB writes {writes * per_k:8.2f} calls, {items:8.1f} items;"
            f" reads {reads * per_k:6.2f}   {dict(ops)}"
        )
    sent_requests = produce_requests["count"] - requests_before
    print(
        f"  {'outbox_relay':18} Kafka: {sum(producer.messages.values()) * per_k:.0f} messages,"
        f" {producer.flushes * per_k:.2f} flushes, {sent_requests * per_k:.2f}"
        " produce requests (librdkafka statistics)"
    )
    counter_writes = STATS.counter_writes - stats_before[0]
    marks = STATS.mark_writes - stats_before[1]
    print("\naggregator")
    print(f"  counter writes per event: {counter_writes / total:.4f}  ({counter_writes} for {total} events)")
    print(
        f"  total item writes per event: {(counter_writes + marks) / total:.3f}"
        f" (counter + counted marks), transactions {STATS.transactions - stats_before[2]},"
        f" grant reads {STATS.grant_reads - stats_before[3]}"
    )
    ingest_items = items_written["usage_api"]
    ingest_calls = sum(n for (f, op), n in calls.items() if f == "usage_api" and op in WRITES)
    print(
        f"\ningest DynamoDB item writes per event: {ingest_items / total:.3f};"
        f" write calls per event: {ingest_calls / total:.4f}"
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
