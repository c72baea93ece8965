"""Usage over real HTTP against the local cloud subprocess (what `make dev` runs): a batch sent with
an API key is counted by the aggregator and shows up in `check`; a JWT may not send usage."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import requests

from infra.local.replies import ok
from tests.e2e.http_setup import metered_tenant

TIMEOUT_S = 20


def test_usage_events_reach_the_counter_over_http(local_cloud_url: str) -> None:
    url = f"{local_cloud_url}/api/v1"
    # GIVEN a plan with a METERED feature, a tenant subscribed to it and its API key
    tenant = metered_tenant(url, "usage", monthly=100, included=100, overage=5)
    key_name, member, api_key = tenant.feature, tenant.member, tenant.api_key
    now = datetime.now(UTC).isoformat()
    events = [{"eventId": f"e2e-{i}", "feature": key_name, "amount": 2, "timestamp": now} for i in range(20)]

    # WHEN the batch is sent with the API key (and once more: all duplicates), and with a JWT
    sent = requests.post(f"{url}/usage/events", json={"events": events}, headers=api_key, timeout=10)
    again = requests.post(f"{url}/usage/events", json={"events": events}, headers=api_key, timeout=10)
    jwt = requests.post(f"{url}/usage/events", json={"events": events}, headers=member, timeout=10)

    # THEN 202 with statuses, 403 for the JWT, and the counter reaches 40 once
    assert sent.status_code == 202 and sent.json()["accepted"] == 20, sent.text
    assert again.status_code == 202 and again.json()["duplicates"] == 20, again.text
    assert jwt.status_code == 403 and jwt.json()["code"] == "API_KEY_REQUIRED"
    deadline, used = time.monotonic() + TIMEOUT_S, -1
    while time.monotonic() < deadline and used < 40:
        used = ok(requests.get(f"{url}/entitlements/{key_name}/check", headers=api_key, timeout=10))["used"]
        time.sleep(0.05)
    assert used == 40
    time.sleep(0.5)  # nothing more arrives (duplicates were never stored)
    assert ok(requests.get(f"{url}/entitlements/{key_name}/check", headers=api_key, timeout=10))["used"] == 40
