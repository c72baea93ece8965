"""The whole usage pipeline on real pieces: HTTP (gateway + authorizer) → usage_api → moto →
usage table stream (local ESM poller) → outbox_relay → Tansu (a real Kafka-protocol broker) →
Kafka poller (MSK ESM) → usage_aggregator → the counter `check` reads. No in-memory bus."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra import topology
from infra.local.dead_letters import DeadLetters
from infra.local.functions import FunctionRunner
from infra.local.kafka_poller import KafkaPoller
from infra.local.stream_poller import StreamPoller
from meterplex.platform import settings
from meterplex.platform.clock import iso
from tests.integration.catalog.builders import build_plan
from tests.support.api_client import ApiClient

EVENTS, PER_REQUEST = 200, 10
# Waiting deadline only (a lost event fails the test): the latency is printed, never asserted. The
# pollers start at TRIM_HORIZON of the session's usage stream, so the first request queues behind
# every event the earlier usage tests stored — as a new event source mapping would in AWS.
DEADLINE_S = 60


@pytest.fixture(scope="module")
def pipeline(
    moto_endpoint: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    settings.load.cache_clear()  # MP_KAFKA_BOOTSTRAP now names the Tansu fixture
    runner = FunctionRunner(topology=topology)
    letters = DeadLetters(Path(tmp_path_factory.mktemp("dlq")))
    stream = next(t for t in topology.STREAM_TRIGGERS if t.table == topology.USAGE)
    kafka = next(t for t in topology.KAFKA_TRIGGERS if t.topic == topology.TOPIC_USAGE)
    pollers = [
        StreamPoller(
            stream,
            os.environ[topology.table(topology.USAGE).env_var],
            runner.invoke,
            letters,
            endpoint=moto_endpoint,
        ),
        KafkaPoller(kafka, kafka_bootstrap, runner.invoke, letters),
    ]
    for poller in pollers:
        poller.start()
    yield
    for poller in reversed(pollers):
        poller.stop()


def tenant_with_key_and_plan(api: ApiClient) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    registered = api.request(
        "POST",
        "/api/v1/auth/register",
        {
            "email": f"usage-{suffix}@example.com",
            "password": "DevPass123",
            "firstName": "Use",
            "lastName": "Age",
            "tenantName": "Usage Inc",
            "tenantSlug": f"usage-{suffix}",
        },
    )
    assert registered.status == 201, registered.body
    token, tenant = registered.body["accessToken"], registered.body["tenant"]["id"]
    plan = build_plan({"calls": ("METERED", {"includedAmount": 1000, "overagePrice": 10})})
    subscribed = api.request(
        "POST",
        "/api/v1/subscriptions",
        {"planId": plan.id, "priceId": plan.monthly_price_id},
        token=token,
        tenant=tenant,
    )
    assert subscribed.status == 201, subscribed.body
    key = api.request("POST", "/api/v1/api-keys", {"name": "ingest"}, token=token, tenant=tenant)
    assert key.status == 201, key.body
    return key.body["key"], plan.features["calls"]


def test_events_sent_over_http_show_up_in_check_p99(pipeline: None) -> None:
    """Every event sent over HTTP reaches the counter `check` reads, each exactly once."""
    api = ApiClient()
    key, feature = tenant_with_key_and_plan(api)

    def used() -> int:
        reply = api.request("GET", f"/api/v1/entitlements/{feature}/check", token=key)
        assert reply.status == 200, reply.body
        return int(reply.body["used"])

    latencies: list[float] = []
    total = 0
    for request in range(EVENTS // PER_REQUEST):
        events = [
            {
                "eventId": f"p-{request}-{i}",
                "feature": feature,
                "amount": 1,
                "timestamp": iso(datetime.now(UTC)),
            }
            for i in range(PER_REQUEST)
        ]
        sent = time.monotonic()
        reply = api.request("POST", "/api/v1/usage/events", {"events": events}, token=key)
        assert reply.status == 202 and reply.body["accepted"] == PER_REQUEST, reply.body
        total += PER_REQUEST
        deadline = sent + DEADLINE_S
        while used() < total:
            assert time.monotonic() < deadline, f"only {used()} of {total} counted after {DEADLINE_S}s"
            time.sleep(0.005)
        latencies += [time.monotonic() - sent] * PER_REQUEST
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    print(f"\ningest → check over {EVENTS} events: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    assert used() == EVENTS  # all of them, none twice (bench.ingest measures the ≤ 2 s budget)
