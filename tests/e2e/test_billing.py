"""Billing over real HTTP against the local cloud subprocess, moving time with the test clock
(SPEC §8.1): subscribe, send usage with an API key, advance past the period end, read the
finalized invoice with the right lines, its ledger CHARGE and the balance; advance again, twice at
once and then once more (the clock's lease lets one advance run at a time: the other may answer
409 CLOCK_BUSY), so the daily run fires again → still one invoice per period (truly concurrent
runs and workers: tests/integration/billing/test_scheduled_billing.py); a late event for the
closed window appears once, as a late-usage line on the next invoice.

Skipped until the test clock's `POST /api/v1/admin/clock/advance` is in the OpenAPI document; the
same story runs today in-process with a fixed clock (tests/integration/billing/test_billing_flow.py).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import requests

from infra.local.replies import ok
from tests.e2e.http_setup import advance, eventually, metered_tenant, on_the_test_clock

ADVANCE = "/api/v1/admin/clock/advance"


@pytest.fixture(scope="module")
def clock_url(clock_cloud_url: str) -> str:
    return clock_cloud_url


def test_billing_over_http_with_the_test_clock(clock_url: str) -> None:
    on_the_test_clock(clock_url, _story)


def _story(url: str, admin: dict[str, str]) -> None:
    # GIVEN a plan ($20/month, 1,000 calls included, 10/100¢ each beyond), a tenant subscribed to it
    tenant = metered_tenant(url, "billing", monthly=2_000, included=1_000, overage=10)
    feature_key, member, api_key, sub = tenant.feature, tenant.member, tenant.api_key, tenant.subscription
    period_end = datetime.fromisoformat(sub["currentPeriodEnd"].replace("Z", "+00:00"))
    now = datetime.fromisoformat(
        ok(requests.get(f"{url}/admin/clock", headers=admin, timeout=10))["now"].replace("Z", "+00:00")
    )

    # AND 1,500 calls sent with its API key, counted
    events = [
        {"eventId": f"b-{i}", "feature": feature_key, "amount": 300, "timestamp": now.isoformat()}
        for i in range(5)
    ]
    assert (
        ok(requests.post(f"{url}/usage/events", json={"events": events}, headers=api_key, timeout=10))[
            "accepted"
        ]
        == 5
    )
    used = eventually(
        lambda: ok(requests.get(f"{url}/entitlements/{feature_key}/check", headers=api_key, timeout=10))[
            "used"
        ],
        lambda u: u >= 1_500,
    )
    assert used == 1_500

    # WHEN the test clock moves past the period's end (the daily billing run fires on the way)
    assert advance(url, admin, {"to": (period_end + timedelta(days=1)).isoformat()}) == 200

    # THEN a FINALIZED invoice with the base fee and 500 calls over the allowance
    invoices = ok(requests.get(f"{url}/invoices", headers=member, timeout=10))["data"]
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["status"] == "FINALIZED" and invoice["invoiceNumber"].startswith("INV-")
    assert [(li["kind"], li["quantity"], li["amount"]) for li in invoice["lineItems"]] == [
        ("BASE_FEE", 1, 2_000),
        ("USAGE", 500, 50),
    ]
    # AND its ledger CHARGE and the balance
    ledger = eventually(
        lambda: ok(requests.get(f"{url}/billing/ledger", headers=member, timeout=10))["data"], bool
    )
    assert [(e["type"], e["debit"], e["invoiceId"]) for e in ledger] == [("CHARGE", 2_050, invoice["id"])]
    balance = ok(requests.get(f"{url}/billing/balance", headers=member, timeout=10))
    assert balance["balances"] == [
        {"currency": "usd", "balance": 2_050, "totalCharged": 2_050, "totalPaid": 0}
    ]

    # WHEN the clock moves on: two advances at once (one may be refused: CLOCK_BUSY), then another
    replies: list[int] = []

    def one_day() -> None:
        replies.append(advance(url, admin, {"days": 1}))

    threads = [threading.Thread(target=one_day) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(replies) in ([200, 200], [200, 409]), replies
    assert advance(url, admin, {"days": 1}) == 200
    # THEN still one invoice for the period
    assert len(ok(requests.get(f"{url}/invoices", headers=member, timeout=10))["data"]) == 1

    # WHEN a late event for the closed window arrives, then the next period ends
    late_at = period_end - timedelta(hours=1)  # inside the invoiced window, within the late window
    late = [{"eventId": "b-late", "feature": feature_key, "amount": 200, "timestamp": late_at.isoformat()}]
    assert (
        ok(requests.post(f"{url}/usage/events", json={"events": late}, headers=api_key, timeout=10))[
            "accepted"
        ]
        == 1
    )
    time.sleep(2)  # counted into the closed window's archive: no HTTP read shows it (check reads the grant)
    sub_now = ok(requests.get(f"{url}/subscriptions/active", headers=member, timeout=10))
    next_end = datetime.fromisoformat(sub_now["currentPeriodEnd"].replace("Z", "+00:00"))
    assert advance(url, admin, {"to": (next_end + timedelta(days=1)).isoformat()}) == 200
    # THEN it appears once, as a late-usage line on the next invoice
    newest = ok(requests.get(f"{url}/invoices", headers=member, timeout=10))["data"]
    assert len(newest) == 2
    assert [(li["kind"], li["quantity"], li["amount"]) for li in newest[0]["lineItems"]] == [
        ("BASE_FEE", 1, 2_000),
        ("USAGE", 0, 0),
        ("LATE_USAGE", 200, 20),
    ]
