"""Usage over real HTTP against the local cloud subprocess (what `make dev` runs): a batch sent with
an API key is counted by the aggregator and shows up in `check`; a JWT may not send usage."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

TIMEOUT_S = 20
ADMIN = {"email": "admin@meterplex.local", "password": "Admin12345!"}  # infra.local.cloud defaults


def ok(reply: requests.Response) -> Any:
    assert reply.status_code in (200, 201), reply.text
    return reply.json()


def test_usage_events_reach_the_counter_over_http(local_cloud_url: str) -> None:
    url, suffix = f"{local_cloud_url}/api/v1", uuid.uuid4().hex[:8]
    # GIVEN a plan with a METERED feature, a tenant subscribed to it and its API key
    admin_token = ok(requests.post(f"{url}/auth/login", json=ADMIN, timeout=10))["accessToken"]
    boss = {"authorization": f"Bearer {admin_token}"}
    plan = ok(
        requests.post(f"{url}/plans", json={"name": "U", "slug": f"usage-{suffix}"}, headers=boss, timeout=10)
    )
    price = ok(
        requests.post(
            f"{url}/plans/{plan['id']}/prices",
            json={"interval": "MONTHLY", "amount": 100, "currency": "usd"},
            headers=boss,
            timeout=10,
        )
    )
    key_name = f"e2e_calls_{suffix}"
    feature = ok(
        requests.post(
            f"{url}/features",
            json={"name": "Calls", "lookupKey": key_name, "type": "METERED"},
            headers=boss,
            timeout=10,
        )
    )
    ok(
        requests.post(
            f"{url}/plans/{plan['id']}/entitlements",
            json={"featureId": feature["id"], "includedAmount": 100, "overagePrice": 5},
            headers=boss,
            timeout=10,
        )
    )
    owner = ok(
        requests.post(
            f"{url}/auth/register",
            json={
                "email": f"usage-{suffix}@example.com",
                "password": "DevPass123",
                "firstName": "U",
                "lastName": "Sage",
                "tenantName": "Usage",
                "tenantSlug": f"usage-{suffix}",
            },
            timeout=10,
        )
    )
    member = {"authorization": f"Bearer {owner['accessToken']}", "x-tenant-id": owner["tenant"]["id"]}
    ok(
        requests.post(
            f"{url}/subscriptions",
            json={"planId": plan["id"], "priceId": price["id"]},
            headers=member,
            timeout=10,
        )
    )
    secret = ok(requests.post(f"{url}/api-keys", json={"name": "k"}, headers=member, timeout=10))["key"]
    api_key = {"authorization": f"Bearer {secret}"}
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
