"""The whole billing story in-process on moto, the way tests/e2e/test_billing.py tells it over HTTP
once the test clock exists: subscribe, send usage with an API key, bill past the period end (the
scheduler, run twice and concurrently), read the finalized invoice, its ledger CHARGE and the
balance; then a late event for the closed window lands once, as late usage on the next invoice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meterplex.platform.auth import Role
from meterplex.subscriptions.models import next_billing_step
from tests.integration.billing.helpers import run_billing, subscribed, write_ledger
from tests.integration.catalog.handlers import call, user
from tests.integration.usage.helpers import aggregate, envelopes, event, send

pytestmark = pytest.mark.usefixtures("moto_endpoint")
PLAN = {"calls": ("METERED", {"includedAmount": 1_000, "overagePrice": 10})}


def test_usage_is_invoiced_finalized_charged_and_late_usage_billed_once(
    nothing_else_due: None,
) -> None:
    # GIVEN a tenant subscribed 40 days ago (real time: ingest checks timestamps against now)
    now = datetime.now(UTC)
    tenant = subscribed(now - timedelta(days=40), PLAN, monthly=2_000)
    owner = {"principal": user({tenant.id: Role.OWNER}), "tenant": tenant.id}
    first = next_billing_step(tenant.subscription)
    assert first is not None and first.due_at < now
    calls = tenant.key("calls")
    # AND 1,500 calls sent with its API key inside the first period, counted by the aggregator
    in_period = first.due_at - timedelta(days=3)
    reply = send(tenant.id, [event(f"e{i}", calls, 300, in_period) for i in range(5)])
    assert reply.status == 202 and reply.body["accepted"] == 5
    aggregate(envelopes(tenant.id, [f"e{i}" for i in range(5)]))

    # WHEN the daily run fires twice at once past the period's end, and once more
    run_billing(now, times=2, concurrently=True)
    run_billing(now)

    # THEN one FINALIZED invoice for the period: base fee + 500 over the 1,000 included at 10
    listed = call("billing_api", "GET", "/api/v1/invoices", **owner).body["data"]
    assert len(listed) == 1
    invoice = listed[0]
    assert invoice["status"] == "FINALIZED" and invoice["invoiceNumber"].startswith("INV-")
    assert [(li["kind"], li["quantity"], li["amount"]) for li in invoice["lineItems"]] == [
        ("BASE_FEE", 1, 2_000),
        ("USAGE", 500, 50),
    ]
    # AND its ledger CHARGE and the balance, once the billing topic reached the ledger writer
    write_ledger(tenant.id, repeat=2)
    ledger = call("billing_api", "GET", "/api/v1/billing/ledger", **owner).body["data"]
    assert [(e["type"], e["debit"], e["invoiceId"]) for e in ledger] == [("CHARGE", 2_050, invoice["id"])]
    balance = call("billing_api", "GET", "/api/v1/billing/balance", **owner).body
    assert balance["balances"] == [
        {"currency": "usd", "balance": 2_050, "totalCharged": 2_050, "totalPaid": 0}
    ]

    # WHEN a late event for the closed window arrives (and the relay delivers it twice)
    late = send(tenant.id, [event("late-1", calls, 200, in_period)])
    assert late.body["accepted"] == 1
    aggregate(envelopes(tenant.id, ["late-1", "late-1"]))
    # ... the run of today invoices nothing new; the next period's run carries it once
    run_billing(now)
    second = next_billing_step(tenant.reload())
    assert second is not None
    run_billing(second.due_at + timedelta(minutes=5), times=2)
    newest = call("billing_api", "GET", "/api/v1/invoices", **owner).body["data"]
    assert len(newest) == 2
    lines = [(li["kind"], li["quantity"], li["amount"]) for li in newest[0]["lineItems"]]
    assert lines == [("BASE_FEE", 1, 2_000), ("USAGE", 0, 0), ("LATE_USAGE", 200, 20)]
    [late_line] = [li for li in newest[0]["lineItems"] if li["kind"] == "LATE_USAGE"]
    assert late_line["usage"][0] | {"subscriptionId": None} == {
        "subscriptionId": None,
        "feature": calls,
        "windowStart": invoice["periodStart"],
        "windowEnd": invoice["periodEnd"],
        "counted": 1_700,
        "previouslyCounted": 1_500,
        "units": 200,
    }
