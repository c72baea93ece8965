"""Payments and dunning over real HTTP against the local cloud subprocess, moving time with the
test clock (SPEC §8.1, §8.2; ADR 0060). For a tenant whose fake payments are scripted to fail:
finalize → attempt FAILED → PAST_DUE (check: pastDue) → retries on days 3, 8 and 15, each FAILED →
UNPAID → consume answers 402; then the script switched to succeed and the invoice settled by hand
(`mark-paid`) → PAID, ACTIVE, consume works. Every step is read over HTTP. The detailed cases
(retry succeeding, races, refunds, Stripe) are integration tests (tests/integration/payments)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from infra.local.replies import ok
from tests.e2e.http_setup import metered_tenant, on_the_test_clock
from tests.e2e.test_billing import advance, eventually

ROUTE = "/api/v1/billing/payments"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_dunning_through_the_test_clock_over_http(clock_cloud_url: str) -> None:
    on_the_test_clock(clock_cloud_url, _story)


def _story(url: str, admin: dict[str, str]) -> None:
    # GIVEN a tenant whose fake payments are scripted to fail, with a finalized invoice
    tenant = metered_tenant(url, "dunning", monthly=4_900, included=100, overage=10)
    member, api_key, feature = tenant.member, tenant.api_key, tenant.feature
    tenant_id = member["x-tenant-id"]
    script = {"metadata": {"fakePayment": "fail"}}
    ok(requests.patch(f"{url}/tenants/{tenant_id}", json=script, headers=member, timeout=10))
    invoice = ok(requests.post(f"{url}/invoices/generate", headers=member, timeout=10))
    ok(requests.post(f"{url}/invoices/{invoice['id']}/finalize", headers=member, timeout=10))

    def payments() -> list[dict[str, Any]]:
        return sorted(
            ok(requests.get(f"{url}/billing/payments", headers=member, timeout=10))["data"],
            key=lambda p: p["attemptNumber"],
        )

    def standing() -> str:
        return str(ok(requests.get(f"{url}/subscriptions/active", headers=member, timeout=10))["status"])

    # THEN attempt 1 FAILED (the collector charged it, the fake's webhook was processed) → PAST_DUE
    [first] = eventually(payments, lambda found: bool(found) and found[0]["status"] == "FAILED")
    assert (first["attemptNumber"], first["invoiceId"], first["provider"]) == (1, invoice["id"], "fake")
    assert first["failureReason"] and first["nextRetryAt"]
    assert eventually(standing, lambda s: s == "PAST_DUE") == "PAST_DUE"
    check = ok(requests.get(f"{url}/entitlements/{feature}/check", headers=api_key, timeout=10))
    assert check["pastDue"] is True and check["allowed"] is True
    day_of_first = _at(first["createdAt"]).replace(hour=0, minute=0, second=0, microsecond=0)
    assert _at(first["nextRetryAt"]) == day_of_first + timedelta(days=3)

    # WHEN the test clock passes each retry's day (the payments run fires at 00:30 and 12:30 UTC)
    for number, day in ((2, 3), (3, 8), (4, 15)):
        due = _at(payments()[-1]["nextRetryAt"])
        assert due == day_of_first + timedelta(days=day)
        assert advance(url, admin, {"to": (due + timedelta(minutes=31)).isoformat()}) == 200
        # THEN a new attempt, FAILED (the run's completion check waited for its outcome)
        found = payments()
        assert [p["attemptNumber"] for p in found] == list(range(1, number + 1))
        assert found[-1]["status"] == "FAILED", found[-1]

    # THEN retries exhausted: UNPAID, and consuming the METERED feature answers 402
    assert payments()[-1]["nextRetryAt"] is None
    assert standing() == "UNPAID"
    refused = requests.post(
        f"{url}/entitlements/{feature}/consume", json={"amount": 1}, headers=api_key, timeout=10
    )
    assert refused.status_code == 402 and refused.json()["code"] == "PAYMENT_REQUIRED"

    # WHEN the script is switched to succeed and the invoice is settled by hand
    ok(
        requests.patch(
            f"{url}/tenants/{tenant_id}",
            json={"metadata": {"fakePayment": "succeed"}},
            headers=member,
            timeout=10,
        )
    )
    paid = ok(requests.post(f"{url}/invoices/{invoice['id']}/mark-paid", headers=member, timeout=10))
    assert paid["status"] == "PAID"
    # THEN ACTIVE again, and consume works
    assert eventually(standing, lambda s: s == "ACTIVE") == "ACTIVE"
    consumed = ok(
        requests.post(
            f"{url}/entitlements/{feature}/consume", json={"amount": 1}, headers=api_key, timeout=10
        )
    )
    assert consumed["allowed"] is True and "pastDue" not in consumed
