"""Outbound webhooks benchmark: deliveries per second to a local receiver, event → delivered
latency (p50/p99), and what one delivery costs in DynamoDB calls and write units.

    .venv/bin/python -m bench.webhooks [--events 300] [--endpoints 2]

Starts a LocalCloud in this process (moto, Tansu, stream, Kafka and SQS pollers, on free ports) and
a real HTTP receiver on localhost. Each event is a domain event written as an outbox item — what
every write does — so the measured path is the whole one: core table stream → outbox_relay →
Kafka → webhook_dispatcher (one conditional put per endpoint, one SQS batch) → the attempt queue →
webhook_delivery (claim, sign, POST, record) → the receiver. `--events` are written at once (25
per BatchWriteItem) to a tenant with `--endpoints` endpoints subscribed; latency is the receiver's
arrival time minus the event's write time, per delivery. The machine is shared (2 cores): the load
average is printed beside the figures. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.ingest import calls, counting, instrument, items_written, quiet_bench_process, units
from infra.local.webhook_receiver import Received, running_receiver

WAIT_S = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--endpoints", type=int, default=2)
    args = parser.parse_args()
    quiet_bench_process()
    instrument()

    from infra.local.cloud import LocalCloud
    from infra.local.net import free_port

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared)")
    with LocalCloud(port=free_port(), moto_port=0, kafka_port=0) as _cloud, running_receiver() as receiver:
        run(receiver, args.events, args.endpoints)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(receiver: Any, events: int, endpoints: int) -> None:
    import boto3

    from meterplex.platform import topics
    from meterplex.platform.events import DomainEvent
    from meterplex.platform.outbox import outbox_item
    from meterplex.platform.settings import CoreTableSettings, load
    from meterplex.webhooks.catalog import WebhookEventType
    from meterplex.webhooks.dependencies import webhook_service

    tenant = str(uuid.uuid4())
    service = webhook_service()
    for n in range(endpoints):
        service.create(
            tenant,
            url=f"{receiver.url}/hook-{n}",
            event_types=[WebhookEventType.SUBSCRIPTION_UPDATED],
            description=None,
            enabled=True,
            actor="bench",
        )
    expected = events * endpoints
    done = threading.Event()

    def arrived(_: Received) -> None:
        if len(receiver.received) >= expected:
            done.set()

    receiver.on_receive = arrived
    table = load(CoreTableSettings).core_table
    client = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])
    envelopes = [
        DomainEvent.new(
            "subscription.renewed",
            tenant_id=tenant,
            at=datetime.now(UTC),
            actor="system",
            data={"resource": "subscription", "resourceId": f"sub-{i}", "changes": {"id": f"sub-{i}"}},
        )
        for i in range(events)
    ]
    written_at: dict[str, float] = {}
    counting.set()
    started = time.time()
    for start in range(0, events, 25):
        chunk = envelopes[start : start + 25]
        items = [{"PutRequest": {"Item": outbox_item(e, topics.DOMAIN).serialize()}} for e in chunk]
        client.batch_write_item(RequestItems={table: items})
        now = time.time()
        written_at |= {e.id: now for e in chunk}
    delivered = done.wait(WAIT_S)
    counting.clear()

    seen = list(receiver.received)
    latencies = sorted(
        r.at - written_at[r.headers["webhook-id"]] for r in seen if r.headers["webhook-id"] in written_at
    )
    ids = {(r.path, r.headers["webhook-id"]) for r in seen}
    print(f"\nwebhooks bench (LocalCloud: moto server + Tansu + SQS on moto; {datetime.now(UTC):%Y-%m-%d})")
    print(
        f"  {events} events x {endpoints} endpoints = {expected} deliveries expected, {len(seen)} received"
        f" ({len(ids)} distinct (endpoint, webhook-id); complete: {delivered})"
    )
    if not latencies:
        return
    span = max(r.at for r in seen) - started
    print(f"  deliveries/s (first write → last delivery): {len(seen) / span:,.1f} over {span:.1f}s")
    print(
        f"  event → delivered: p50 {statistics.median(latencies) * 1000:,.0f} ms, "
        f"p99 {latencies[max(0, math.ceil(0.99 * len(latencies)) - 1)] * 1000:,.0f} ms, "
        f"max {latencies[-1] * 1000:,.0f} ms"
    )
    report_cost(client, table, tenant, len(seen))


def report_cost(client: Any, table: str, tenant: str, deliveries: int) -> None:
    from bench.ingest import item_units
    from meterplex.webhooks.repository import deliveries_pk, endpoints_pk

    endpoint_ids = [
        i["sk"]["S"].removeprefix("ENDPOINT#")
        for i in client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :e)",
            ExpressionAttributeValues={":pk": {"S": endpoints_pk(tenant)}, ":e": {"S": "ENDPOINT#"}},
        )["Items"]
    ]
    page = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": deliveries_pk(tenant, endpoint_ids[0])}},
        Limit=1,
    )["Items"]
    item_wcu = item_units(page[0]) if page else 1
    print(f"  DynamoDB calls per delivery (measured; a stored delivery item is {item_wcu} KB-unit(s)):")
    for function in ("outbox_relay", "webhook_dispatcher", "webhook_delivery"):
        per = {op: n / deliveries for (fn, op), n in sorted(calls.items()) if fn == function}
        if per:
            print(f"    {function:<19} " + ", ".join(f"{op} {n:.2f}" for op, n in per.items()))
    updates = sum(n for (fn, op), n in calls.items() if fn == "webhook_delivery" and op == "UpdateItem")
    puts = sum(n for (fn, op), n in calls.items() if fn == "webhook_dispatcher" and op == "PutItem")
    # An UpdateItem costs the larger of the item's sizes (the bench's counter charges 1); the due
    # index (gsi1) projects the whole item, so each write that adds, moves or removes the entry
    # costs the item's size again on the index.
    table_wcu = (puts + updates) * item_wcu
    index_wcu = (puts + updates) * item_wcu
    print(
        f"  write units per delivery: ~{(table_wcu + index_wcu) / deliveries:.1f} "
        f"(table {table_wcu / deliveries:.1f} + due index {index_wcu / deliveries:.1f}; "
        f"the worker's health writes excluded: only on a change)"
    )
    written = {fn: items_written[fn] / deliveries for fn in ("webhook_dispatcher", "webhook_delivery")}
    print(
        f"  items written per delivery: {', '.join(f'{fn} {n:.2f}' for fn, n in written.items())}"
        f"; counted units {sum(units[fn] for fn in written) / deliveries:.1f} (UpdateItem as 1)"
    )


if __name__ == "__main__":
    main()
