"""payments_api in-process: the SPEC §8.2 payment shape, cursor pages and the status filter, roles,
tenant isolation, refunds (reserved first: never more than was paid) and their ledger event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.billing.ledger import EntryType, entry_for
from meterplex.platform import topics
from meterplex.platform.auth import Role
from meterplex.platform.events import DomainEvent
from tests.integration.billing.helpers import billing, outbox, subscribed
from tests.integration.catalog.handlers import call, user
from tests.integration.payments.helpers import Payments

pytestmark = pytest.mark.usefixtures("moto_endpoint")
FN = "payments_api"
FIELDS = {
    "id",
    "invoiceId",
    "invoiceNumber",
    "provider",
    "providerPaymentId",
    "status",
    "amount",
    "currency",
    "failureReason",
    "attemptNumber",
    "nextRetryAt",
    "createdAt",
}


def _tenant_with_payments(script: str) -> tuple[str, str, Payments, dict]:
    tenant = subscribed(datetime.now(UTC) - timedelta(days=3))
    tenant.clock.set(datetime.now(UTC))
    payments = Payments(tenant.clock)
    payments.directory.script(tenant.id, script)
    service = billing(tenant.clock)
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    payments.deliver(payments.finalized(invoice))
    return tenant.id, invoice.id, payments, {"principal": user({tenant.id: Role.OWNER}), "tenant": tenant.id}


def test_list_and_get_payments_in_the_spec_shape_with_status_filter_and_isolation() -> None:
    tenant_id, invoice_id, _, owner = _tenant_with_payments("fail")
    page = call(FN, "GET", "/api/v1/billing/payments?limit=1", **owner)
    assert page.status == 200, page.body
    [payment] = page.body["data"]
    assert set(payment) == FIELDS
    assert (payment["invoiceId"], payment["status"], payment["attemptNumber"]) == (invoice_id, "FAILED", 1)
    assert payment["failureReason"] and payment["nextRetryAt"] and payment["provider"] == "fake"
    cursor = page.body["meta"]["nextCursor"]  # DynamoDB stopped at the limit: the next page is empty
    after = call(FN, "GET", f"/api/v1/billing/payments?limit=1&cursor={cursor}", **owner).body
    assert after == {"data": [], "meta": {"limit": 1, "nextCursor": None, "page": None}}
    assert call(FN, "GET", "/api/v1/billing/payments?status=SUCCEEDED", **owner).body["data"] == []
    assert call(FN, "GET", "/api/v1/billing/payments?status=FAILED&page=1", **owner).body["data"] == [payment]
    assert call(FN, "GET", "/api/v1/billing/payments?status=WON", **owner).status == 400
    got = call(FN, "GET", f"/api/v1/billing/payments/{payment['id']}", **owner)
    assert got.status == 200 and got.body == payment
    # another tenant's payment is 404; a DEVELOPER may not read payments; BILLING may
    other = {"principal": user({"t-other": Role.OWNER}), "tenant": "t-other"}
    assert call(FN, "GET", f"/api/v1/billing/payments/{payment['id']}", **other).code == "PAYMENT_NOT_FOUND"
    dev = {"principal": user({tenant_id: Role.DEVELOPER}), "tenant": tenant_id}
    assert call(FN, "GET", "/api/v1/billing/payments", **dev).code == "INSUFFICIENT_ROLE"
    finance = {"principal": user({tenant_id: Role.BILLING}), "tenant": tenant_id}
    assert call(FN, "GET", "/api/v1/billing/payments", **finance).status == 200


def test_refunds_are_bounded_by_the_payment_and_each_makes_one_ledger_refund() -> None:
    tenant_id, invoice_id, payments, owner = _tenant_with_payments("succeed")
    [paid] = payments.service.payments(tenant_id, None, 10)[0]
    assert paid.status.value == "SUCCEEDED"
    finance = {"principal": user({tenant_id: Role.BILLING}), "tenant": tenant_id}

    first = call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", {"amount": 1_000}, **finance)
    assert first.status == 201, first.body
    assert (first.body["amount"], first.body["status"], first.body["paymentId"]) == (
        1_000,
        "PENDING",
        paid.id,
    )
    too_much = call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", {"amount": paid.amount}, **owner)
    assert too_much.status == 409 and too_much.code == "REFUND_EXCEEDS_PAYMENT"
    rest = call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", **owner)
    assert rest.status == 201 and rest.body["amount"] == paid.amount - 1_000

    # the fake's refund.succeeded events, processed: the attempt REFUNDED, one REFUND entry per refund
    from meterplex.payments.repository import ProviderEventRecord

    keys = [
        (r.provider, r.eventId)
        for r in ProviderEventRecord.scan(ProviderEventRecord.type == "refund.succeeded")
        if json.loads(r.event)["tenant_id"] == tenant_id
    ]
    assert sorted(payments.deliver(keys)) == ["refunded", "refunded"]
    assert payments.service.payment(tenant_id, paid.id).status.value == "REFUNDED"
    events = [DomainEvent.from_json(v) for v in outbox(tenant_id, topics.BILLING)]
    refunds = [entry_for(e) for e in events if e.type == "payment.refunded"]
    assert sorted((r.type, r.debit) for r in refunds if r) == [
        (EntryType.REFUND, 1_000),
        (EntryType.REFUND, paid.amount - 1_000),
    ]
    assert call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", **owner).code == "REFUND_EXCEEDS_PAYMENT"
    dev = {"principal": user({tenant_id: Role.DEVELOPER}), "tenant": tenant_id}
    assert call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", **dev).code == "INSUFFICIENT_ROLE"


def test_refund_of_an_invoice_not_paid_by_the_provider_is_409() -> None:
    tenant_id, invoice_id, _, owner = _tenant_with_payments("fail")
    assert call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", **owner).code == "INVOICE_NOT_PAID"
    billing().mark_paid(tenant_id, invoice_id)
    assert call(FN, "POST", f"/api/v1/invoices/{invoice_id}/refund", **owner).code == "NO_PROVIDER_PAYMENT"
    assert call(FN, "POST", "/api/v1/invoices/nope/refund", **owner).code == "INVOICE_NOT_FOUND"
