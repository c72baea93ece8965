"""Set-up over real HTTP shared by the e2e stories: a plan with one METERED feature (as the platform
admin), a tenant registered and subscribed to it, and the tenant's API key."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from infra.local.replies import ok

ADMIN = {"email": "admin@meterplex.local", "password": "Admin12345!"}  # infra.local.cloud defaults


def advance(url: str, admin: dict[str, str], body: dict[str, Any]) -> int:
    """POST /admin/clock/advance until complete (202: its time budget ran out, go on to `target`);
    the final status code."""
    reply = requests.post(f"{url}/admin/clock/advance", json=body, headers=admin, timeout=120)
    while reply.status_code == 202:
        body = {"to": reply.json()["target"]}
        reply = requests.post(f"{url}/admin/clock/advance", json=body, headers=admin, timeout=120)
    return reply.status_code


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    """`read()` until `done(value)` or `timeout` seconds; the last value (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def admin_headers(url: str) -> dict[str, str]:
    token = ok(requests.post(f"{url}/auth/login", json=ADMIN, timeout=10))["accessToken"]
    return {"authorization": f"Bearer {token}"}


def on_the_test_clock(cloud_url: str, story: Callable[[str, dict[str, str]], None]) -> None:
    """`story(url, admin headers)` against `cloud_url`'s API (url ends with /api/v1); the test clock
    is reset afterwards, whatever happened, so the next test on that cloud starts at real time."""
    url = f"{cloud_url}/api/v1"
    admin = admin_headers(url)
    try:
        story(url, admin)
    finally:
        requests.post(f"{url}/admin/clock/reset", headers=admin, timeout=30)


@dataclass(frozen=True)
class MeteredTenant:
    feature: str  # the METERED feature's lookup key
    member: dict[str, str]  # the OWNER's headers (JWT + x-tenant-id)
    api_key: dict[str, str]
    subscription: dict[str, Any]


def metered_tenant(url: str, name: str, *, monthly: int, included: int, overage: int) -> MeteredTenant:
    """`url` ends with /api/v1; `name` prefixes slugs and keys (a random suffix keeps them unique)."""
    suffix = uuid.uuid4().hex[:8]
    boss = admin_headers(url)
    plan = ok(
        requests.post(
            f"{url}/plans", json={"name": name, "slug": f"{name}-{suffix}"}, headers=boss, timeout=10
        )
    )
    price = ok(
        requests.post(
            f"{url}/plans/{plan['id']}/prices",
            json={"interval": "MONTHLY", "amount": monthly, "currency": "usd"},
            headers=boss,
            timeout=10,
        )
    )
    key = f"e2e_{name}_{suffix}"
    feature = ok(
        requests.post(
            f"{url}/features",
            json={"name": "Calls", "lookupKey": key, "type": "METERED"},
            headers=boss,
            timeout=10,
        )
    )
    ok(
        requests.post(
            f"{url}/plans/{plan['id']}/entitlements",
            json={"featureId": feature["id"], "includedAmount": included, "overagePrice": overage},
            headers=boss,
            timeout=10,
        )
    )
    owner = ok(
        requests.post(
            f"{url}/auth/register",
            json={
                "email": f"{name}-{suffix}@example.com",
                "password": "DevPass123",
                "firstName": "E",
                "lastName": "Two",
                "tenantName": name.title(),
                "tenantSlug": f"{name}-{suffix}",
            },
            timeout=10,
        )
    )
    member = {"authorization": f"Bearer {owner['accessToken']}", "x-tenant-id": owner["tenant"]["id"]}
    subscription = ok(
        requests.post(
            f"{url}/subscriptions",
            json={"planId": plan["id"], "priceId": price["id"]},
            headers=member,
            timeout=10,
        )
    )
    secret = ok(requests.post(f"{url}/api-keys", json={"name": "k"}, headers=member, timeout=10))["key"]
    return MeteredTenant(key, member, {"authorization": f"Bearer {secret}"}, subscription)
