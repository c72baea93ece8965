"""The SDK methods whose server routes are being built on other branches (invoices, ledger,
balance, payments, webhook endpoints, the test clock, invitations), against respx with the
shapes of SPEC §2, §7, §8: the request each sends, and the typed answer it returns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE, envelope, make_client

from meterplex_client import AsyncMeterplex, ConflictError, PaymentRequiredError

V1 = f"{BASE}/api/v1"
WHEN = "2026-12-01T00:00:00Z"
INVOICE = {
    "id": "inv_1",
    "tenantId": "t1",
    "subscriptionId": "s1",
    "invoiceNumber": "INV-2026-0001",
    "status": "FINALIZED",
    "kind": "FULL",
    "source": "SCHEDULED",
    "currency": "usd",
    "subtotal": 10400,
    "total": 10400,
    "periodStart": "2026-11-01T00:00:00Z",
    "periodEnd": WHEN,
    "dueDate": "2026-12-31T00:00:00Z",
    "finalizedAt": WHEN,
    "paidAt": None,
    "voidedAt": None,
    "notes": None,
    "createdAt": WHEN,
    "lineItems": [
        {
            "description": "Pro (monthly)",
            "featureLookupKey": None,
            "quantity": 1,
            "unitPriceMicroCents": 990000,
            "amount": 9900,
            "sortOrder": 0,
            "kind": "BASE_FEE",
            "usage": [],
        },
        {
            "description": "api_calls overage",
            "featureLookupKey": "api_calls",
            "quantity": 5000,
            "unitPriceMicroCents": 10,
            "amount": 500,
            "sortOrder": 1,
            "kind": "USAGE",
            "usage": [
                {
                    "subscriptionId": "s1",
                    "feature": "api_calls",
                    "windowStart": "2026-11-01T00:00:00.000Z",
                    "windowEnd": "2026-12-01T00:00:00.000Z",
                    "counted": 55000,
                    "previouslyCounted": 0,
                    "units": 55000,
                }
            ],
        },
    ],
}
PAYMENT = {
    "id": "pay_1",
    "invoiceId": "inv_1",
    "invoiceNumber": "INV-2026-0001",
    "provider": "fake",
    "providerPaymentId": None,
    "status": "FAILED",
    "amount": 10400,
    "currency": "usd",
    "failureReason": "card_declined",
    "attemptNumber": 1,
    "nextRetryAt": "2026-12-04T00:00:00Z",
    "createdAt": WHEN,
}
ENDPOINT = {
    "id": "we_1",
    "url": "https://hooks.example.com/meterplex",
    "eventTypes": ["invoice.finalized", "payment.failed"],
    "description": None,
    "enabled": True,
    "createdAt": WHEN,
    "updatedAt": WHEN,
}


def cursor_page(rows: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {"data": rows, "meta": {"limit": 20, "nextCursor": next_cursor}}


def body_of(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


@respx.mock
def test_invoices_list_pages_by_cursor_and_get_has_line_items(tmp_path: Path) -> None:
    listed = respx.get(f"{V1}/invoices").respond(200, json=cursor_page([INVOICE], "b64cursor"))
    respx.get(f"{V1}/invoices/inv_1").respond(200, json=INVOICE)
    mp, _ = make_client(tmp_path)
    page = mp.invoices.list(status="FINALIZED", limit=20, cursor="c0")
    assert dict(listed.calls.last.request.url.params) == {
        "status": "FINALIZED",
        "limit": "20",
        "cursor": "c0",
    }
    assert page.meta.next_cursor == "b64cursor" and page.data[0].invoice_number == "INV-2026-0001"
    invoice = mp.invoices.get("inv_1")
    assert [line.amount for line in invoice.line_items] == [9900, 500]
    assert sum(line.amount for line in invoice.line_items) == invoice.total


@respx.mock
def test_invoice_actions_post_to_their_routes(tmp_path: Path) -> None:
    routes = {
        action: respx.post(f"{V1}/invoices/inv_1/{action}").respond(200, json={**INVOICE, "status": status})
        for action, status in (("finalize", "FINALIZED"), ("mark-paid", "PAID"), ("void", "VOID"))
    }
    generate = respx.post(f"{V1}/invoices/generate").respond(201, json={**INVOICE, "status": "DRAFT"})
    respx.get(f"{V1}/invoices/inv_1/line-items").respond(
        200, json={"data": INVOICE["lineItems"], "meta": {"total": 2}}
    )
    mp, _ = make_client(tmp_path)
    assert mp.invoices.generate(subscription_id="s1").status == "DRAFT"
    assert body_of(generate) == {"subscriptionId": "s1"}
    assert mp.invoices.finalize("inv_1").status == "FINALIZED"
    assert mp.invoices.mark_paid("inv_1").status == "PAID"
    assert mp.invoices.void("inv_1").status == "VOID"
    assert all(route.call_count == 1 for route in routes.values())
    assert len(mp.invoices.line_items("inv_1").data) == 2


@respx.mock
def test_generate_twice_is_a_conflict_with_the_existing_invoice(tmp_path: Path) -> None:
    respx.post(f"{V1}/invoices/generate").respond(
        409, json=envelope(409, "INVOICE_EXISTS", details=[{"field": "invoiceId", "message": "inv_1"}])
    )
    mp, _ = make_client(tmp_path)
    with pytest.raises(ConflictError) as raised:
        mp.invoices.generate()
    assert raised.value.code == "INVOICE_EXISTS" and raised.value.details[0].message == "inv_1"


@respx.mock
def test_billing_balance_ledger_and_payments(tmp_path: Path) -> None:
    balance = {
        "tenantId": "t1",
        "balances": [{"currency": "usd", "balance": 10400, "totalCharged": 10400, "totalPaid": 0}],
        "asOf": WHEN,
    }
    entry = {
        "type": "CHARGE",
        "description": "INV-2026-0001",
        "debit": 10400,
        "credit": 0,
        "currency": "usd",
        "invoiceId": "inv_1",
        "createdAt": WHEN,
    }
    respx.get(f"{V1}/billing/balance").respond(200, json=balance)
    ledger = respx.get(f"{V1}/billing/ledger").respond(200, json=cursor_page([entry], None))
    payments = respx.get(f"{V1}/billing/payments").respond(200, json=cursor_page([PAYMENT], None))
    respx.get(f"{V1}/billing/payments/pay_1").respond(200, json=PAYMENT)
    mp, _ = make_client(tmp_path)
    assert mp.billing.balance().balances[0].balance == 10400
    assert mp.billing.ledger(limit=50).data[0].debit == 10400
    assert ledger.calls.last.request.url.params["limit"] == "50"
    assert mp.billing.payments(status="FAILED").data[0].next_retry_at is not None
    assert payments.calls.last.request.url.params["status"] == "FAILED"
    assert mp.billing.payment("pay_1").failure_reason == "card_declined"


@respx.mock
def test_webhook_endpoints_lifecycle(tmp_path: Path) -> None:
    created = respx.post(f"{V1}/webhook-endpoints").respond(201, json={**ENDPOINT, "secret": "whsec_abc"})
    respx.get(f"{V1}/webhook-endpoints").respond(200, json={"data": [ENDPOINT], "meta": {"total": 1}})
    patched = respx.patch(f"{V1}/webhook-endpoints/we_1").respond(200, json={**ENDPOINT, "enabled": False})
    respx.post(f"{V1}/webhook-endpoints/we_1/rotate-secret").respond(200, json={"secret": "whsec_new"})
    respx.post(f"{V1}/webhook-endpoints/we_1/test").respond(202, json={"message": "queued"})
    respx.get(f"{V1}/webhook-endpoints/we_1/deliveries").respond(
        200, json=cursor_page([{"id": "d1", "status": "exhausted", "attempts": 10}], None)
    )
    retried = respx.post(f"{V1}/webhook-endpoints/we_1/deliveries/d1/retry").respond(
        200, json={"id": "d1", "status": "pending"}
    )
    deleted = respx.delete(f"{V1}/webhook-endpoints/we_1").respond(204)
    mp, _ = make_client(tmp_path)
    endpoint = mp.webhook_endpoints.create(ENDPOINT["url"], ("invoice.finalized", "payment.failed"))
    assert endpoint.secret == "whsec_abc"
    assert body_of(created) == {"url": ENDPOINT["url"], "eventTypes": ["invoice.finalized", "payment.failed"]}
    assert mp.webhook_endpoints.list().data[0].id == "we_1"
    assert not mp.webhook_endpoints.update("we_1", enabled=False).enabled
    assert body_of(patched) == {"enabled": False}
    assert mp.webhook_endpoints.rotate_secret("we_1").secret == "whsec_new"
    assert mp.webhook_endpoints.test("we_1").message == "queued"
    assert mp.webhook_endpoints.deliveries("we_1").data[0].status == "exhausted"
    assert mp.webhook_endpoints.retry_delivery("we_1", "d1").status == "pending" and retried.called
    assert mp.webhook_endpoints.delete("we_1") is None and deleted.called


@respx.mock
def test_clock_show_advance_reset(tmp_path: Path) -> None:
    respx.get(f"{V1}/admin/clock").respond(200, json={"now": WHEN, "frozen": False})
    advance = respx.post(f"{V1}/admin/clock/advance").respond(
        200,
        json={
            "now": "2027-01-01T00:00:00Z",
            "frozen": True,
            "target": "2027-01-01T00:00:00Z",
            "complete": True,
            "fired": [{"schedule": "billing-daily", "at": "2026-12-02T00:15:00Z"}],
        },
    )
    respx.post(f"{V1}/admin/clock/reset").respond(200, json={"now": WHEN, "frozen": False})
    mp, _ = make_client(tmp_path)
    assert not mp.clock.get().frozen
    answer = mp.clock.advance(days=31)
    assert answer.frozen and answer.complete and answer.fired[0].schedule == "billing-daily"
    assert body_of(advance) == {"days": 31}
    assert mp.clock.reset().now.year == 2026


@respx.mock
def test_invitations_and_the_202_answer_of_users_create(tmp_path: Path) -> None:
    created = {
        "invitationId": "i1",
        "email": "old@example.com",
        "role": "DEVELOPER",
        "status": "PENDING",
        "expiresAt": WHEN,
    }
    invitation = {
        "id": "i1",
        "tenantId": "t1",
        "tenantName": "Acme",
        "tenantSlug": "acme",
        "role": "DEVELOPER",
        "status": "PENDING",
        "invitedAt": WHEN,
        "expiresAt": WHEN,
    }
    respx.post(f"{V1}/users").respond(202, json=created)
    respx.get(f"{V1}/users/me/invitations").respond(200, json={"data": [invitation], "meta": {"total": 1}})
    declined = respx.post(f"{V1}/users/me/invitations/i1/decline").respond(
        200, json={**invitation, "status": "DECLINED"}
    )
    mp, _ = make_client(tmp_path)
    added = mp.users.create(email="old@example.com", password="x", first_name="O", last_name="Ld")
    assert type(added).__name__ == "InvitationCreated"
    assert mp.users.invitations().data[0].tenant_slug == "acme"
    assert mp.users.decline_invitation("i1").status == "DECLINED" and declined.called


@pytest.mark.anyio
@respx.mock
async def test_async_invoices(tmp_path: Path) -> None:
    respx.get(f"{V1}/invoices/inv_1").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=INVOICE)]
    )
    async with AsyncMeterplex(access_token="jwt", tenant_id="t1", base_url=BASE) as mp:
        mp._driver.sleep = _no_sleep
        invoice = await mp.invoices.get("inv_1")
    assert invoice.total == 10400


async def _no_sleep(_: float) -> None:
    return None


@respx.mock
def test_refund_posts_the_amount_and_an_unpaid_consume_is_payment_required(tmp_path: Path) -> None:
    refund = {
        "id": "re_1",
        "invoiceId": "inv_1",
        "paymentId": "pay_1",
        "amount": 1000,
        "currency": "usd",
        "status": "PENDING",
        "failureReason": None,
        "createdAt": WHEN,
    }
    route = respx.post(f"{V1}/invoices/inv_1/refund").respond(201, json=refund)
    refused = envelope(402, "PAYMENT_REQUIRED", "The tenant is UNPAID")
    respx.post(f"{V1}/entitlements/api_calls/consume").respond(402, json=refused)
    mp, _ = make_client(tmp_path)

    answer = mp.invoices.refund("inv_1", amount=1000)
    assert (answer.status, answer.amount, answer.payment_id) == ("PENDING", 1000, "pay_1")
    assert json.loads(route.calls.last.request.content) == {"amount": 1000}
    mp.invoices.refund("inv_1")  # the whole rest: no amount sent
    assert json.loads(route.calls.last.request.content) == {}
    with pytest.raises(PaymentRequiredError) as raised:
        mp.entitlements.consume("api_calls", 1)
    assert raised.value.code == "PAYMENT_REQUIRED"
