"""The broker-outage drill on the local cloud with the real broker (issue 13, ADR 0095): Tansu is
stopped, 1,000 events are accepted (202) and every relay retry runs out (the records go to the
on-failure destination), Tansu starts again, and a reconciliation run counts all 1,000 exactly
once, saying what it re-drove; a second run finds nothing."""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from infra.local.cloud import STATE_DIR
from infra.local.cloud_process import output_of, serve
from infra.local.net import free_port
from infra.local.processes import stop
from infra.local.replies import ok
from tests.e2e import conftest
from tests.e2e.conftest import wait_healthy
from tests.e2e.http_setup import admin_headers, metered_tenant

EVENTS = 1_000
DEAD_LETTERS = STATE_DIR / "dlq" / "outbox_relay.jsonl"
RETRIES_TIMEOUT_S = 600  # 1,000 records × every produce retry, on 2 cores shared with another test worker
RUN_TIMEOUT_S = 120
START_TIMEOUT_S = 180  # a cloud of its own, started while the suite's others run on 2 cores


@contextmanager
def patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


@contextmanager
def drill_cloud() -> Iterator[tuple[str, Any]]:
    """A local cloud of its own: produce attempts fail after 5 s while the broker is down (not 30 s),
    and a run holds even just-received events to account (settle time 0)."""
    port = free_port()
    with tempfile.TemporaryFile() as output:
        process = serve(
            port,
            output,
            MP_SEED_DEMO="false",
            MP_KAFKA_MESSAGE_TIMEOUT_MS="5000",
            MP_RECONCILIATION_SETTLE_S="0",
        )
        url = f"http://127.0.0.1:{port}"
        try:
            with patched(conftest, "START_TIMEOUT_S", START_TIMEOUT_S):
                wait_healthy(process, url, output_of(output))
            yield url, process
        finally:  # a clean stop first (it may flush a backlog on 2 loaded cores), else killed
            stop(process, 60)


def dead_lettered(tenant_id: str) -> set[str]:
    """Event ids of the tenant's usage records the relay gave up on."""
    if not DEAD_LETTERS.exists():
        return set()
    found = set()
    for line in DEAD_LETTERS.read_text(encoding="utf-8").splitlines():
        image = json.loads(line).get("record", {}).get("dynamodb", {}).get("NewImage", {})
        if image.get("tenantId", {}).get("S") == tenant_id:
            found.add(image.get("eventId", {}).get("S"))
    return found


def finished_run(url: str, admin: dict[str, str], run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = ok(requests.get(f"{url}/admin/reconciliation/runs", headers=admin, timeout=10))["data"]
        (run,) = [r for r in runs if r["id"] == run_id] or [None]
        if run is not None and run["status"] != "RUNNING":
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish in {RUN_TIMEOUT_S}s")


def run_reconciliation(url: str, admin: dict[str, str], tenant_id: str) -> dict[str, Any]:
    reply = requests.post(
        f"{url}/admin/reconciliation/run", json={"tenantId": tenant_id}, headers=admin, timeout=10
    )
    assert reply.status_code == 202 and reply.json()["status"] == "RUNNING", reply.text
    return finished_run(url, admin, reply.json()["id"])


@pytest.mark.timeout(1200)  # waits, bounded above; the suite's 300 s default is for one request's test
def test_events_accepted_while_the_broker_was_down_are_counted_once_by_reconciliation() -> None:
    with drill_cloud() as (base, process):
        url = f"{base}/api/v1"
        tenant = metered_tenant(url, "drill", monthly=100, included=100_000, overage=1)
        tenant_id = tenant.subscription["tenantId"]
        admin = admin_headers(url)
        check = f"{url}/entitlements/{tenant.feature}/check"
        # GIVEN the broker is down
        process.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        # WHEN 1,000 events are accepted
        now = datetime.now(UTC).isoformat()
        events = [
            {"eventId": f"drill-{tenant_id}-{i}", "feature": tenant.feature, "amount": 1, "timestamp": now}
            for i in range(EVENTS)
        ]
        sent = requests.post(
            f"{url}/usage/events", json={"events": events}, headers=tenant.api_key, timeout=30
        )
        assert sent.status_code == 202 and sent.json()["accepted"] == EVENTS, sent.text
        # AND the relay's every retry runs out (each record lands in the on-failure destination)
        deadline = time.monotonic() + RETRIES_TIMEOUT_S
        while len(dead_lettered(tenant_id)) < EVENTS and time.monotonic() < deadline:
            time.sleep(1.0)
        assert len(dead_lettered(tenant_id)) == EVENTS
        assert ok(requests.get(check, headers=tenant.api_key, timeout=10))["used"] == 0
        # AND the broker comes back
        process.send_signal(signal.SIGUSR2)
        # THEN a reconciliation run re-drives all 1,000, once
        first = run_reconciliation(url, admin, tenant_id)
        assert first["status"] == "COMPLETED", first
        assert first["stats"]["eventsRedriven"] == EVENTS and first["stats"]["openIssues"] == 0, first
        issues = ok(
            requests.get(f"{url}/admin/reconciliation/runs/{first['id']}/issues", headers=admin, timeout=10)
        )["data"]
        (redriven,) = issues
        assert redriven["category"] == "USAGE_NOT_COUNTED" and redriven["status"] == "RESOLVED"
        assert sorted(redriven["ids"]["eventIds"]) == sorted(e["eventId"] for e in events)
        assert ok(requests.get(check, headers=tenant.api_key, timeout=10))["used"] == EVENTS
        # AND a second run reports nothing
        second = run_reconciliation(url, admin, tenant_id)
        assert second["stats"]["eventsRedriven"] == 0 and second["stats"]["issues"] == 0, second
        assert ok(requests.get(check, headers=tenant.api_key, timeout=10))["used"] == EVENTS
