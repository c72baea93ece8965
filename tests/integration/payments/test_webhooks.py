"""The provider webhook receivers in-process (API Gateway events, no authorizer) and the stored
events' consumer: store first, answer 200, process once (ADR 0060)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.billing.models import InvoiceStatus
from meterplex.payments.models import PaymentStatus
from meterplex.platform import topics
from meterplex.platform.dead_letters import dead_letters
from tests.integration.billing.helpers import billing, outbox, subscribed
from tests.integration.catalog.handlers import call, in_parallel
from tests.integration.payments.helpers import Payments, event_status

pytestmark = pytest.mark.usefixtures("moto_endpoint")
FN = "webhooks_api"
FAKE = "/api/v1/webhooks/fake"


def _finalized_with_pending_attempt() -> tuple[Payments, object, str]:
    """A tenant (real-time clock: the route reads business time) with a finalized invoice whose
    first attempt is PENDING at the fake provider; its provider payment id."""
    tenant = subscribed(datetime.now(UTC) - timedelta(days=3))
    payments = Payments(tenant.clock)
    tenant.clock.set(datetime.now(UTC))
    service = billing(tenant.clock)
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    assert payments.finalized(invoice) == []
    [attempt] = payments.service.payments(tenant.id, None, 10)[0]
    assert attempt.status is PaymentStatus.PENDING and attempt.provider_payment_id
    return payments, invoice, attempt.provider_payment_id


def _paid_events(tenant_id: str) -> list[dict]:
    events = [json.loads(v) for v in outbox(tenant_id, topics.BILLING)]
    return [e for e in events if e["type"] == "invoice.paid"]


def test_an_unknown_provider_payment_is_stored_answered_200_then_dead_lettered_with_its_reason() -> None:
    body = {
        "type": "payment.succeeded",
        "providerPaymentId": "fake_pi_test_success_001",
        "amount": 9900,
        "currency": "usd",
    }
    first = call(FN, "POST", FAKE, body)
    assert first.status == 200 and first.body["received"] is True and first.body["duplicate"] is False
    again = call(FN, "POST", FAKE, body)
    assert again.status == 200 and again.body == first.body | {"duplicate": True}
    payments = Payments(clock=None)  # type: ignore[arg-type]
    assert payments.deliver([("fake", first.body["eventId"])]) == ["dead-lettered"]
    assert event_status("fake", first.body["eventId"]) == "DEAD_LETTERED"
    [letter] = [d for d in dead_letters("payment_events") if d.source == f"fake#{first.body['eventId']}"]
    assert letter.reason.startswith("UNKNOWN_PAYMENT") and "fake_pi_test_success_001" in letter.reason


def test_a_webhook_that_does_not_verify_is_400_and_nothing_is_stored() -> None:
    bad = call(FN, "POST", FAKE, {"type": "payment.won", "providerPaymentId": "x"})
    assert bad.status == 400 and bad.code == "VALIDATION_FAILED"
    assert call(FN, "POST", FAKE, {"type": "payment.failed"}).status == 400
    unknown_field = call(FN, "POST", FAKE, {"type": "payment.failed", "providerPaymentId": "x", "extra": 1})
    assert unknown_field.status == 400
    # the Stripe receiver is not configured here (fake provider): 404, not a 500
    assert call(FN, "POST", "/api/v1/webhooks/stripe", {"id": "evt_1"}).status == 404


def test_the_same_event_delivered_5_times_at_once_makes_one_payment_and_one_state_change() -> None:
    payments, invoice, provider_payment_id = _finalized_with_pending_attempt()
    body = {
        "type": "payment.succeeded",
        "providerPaymentId": provider_payment_id,
        "id": f"evt-{provider_payment_id}",
    }
    # WHEN the provider delivers it 5 times at once (each request in its own execution environment)
    replies = in_parallel(FN, lambda: call(FN, "POST", FAKE, body), [()] * 5)
    assert sorted(r.status for r in replies) == [200] * 5
    assert sorted(r.body["duplicate"] for r in replies) == [False, True, True, True, True]

    # AND the stream redelivers the one stored record to five consumers at once
    outcomes: list[str] = []
    consumers = [Payments(payments.clock) for _ in range(5)]

    def process(p: Payments) -> None:
        outcomes.extend(p.deliver([("fake", body["id"])]))

    threads = [threading.Thread(target=process, args=(p,)) for p in consumers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("succeeded") == 1, outcomes
    tenant_id = invoice.tenant_id  # type: ignore[attr-defined]
    [attempt] = payments.service.payments(tenant_id, None, 10)[0]
    assert attempt.status is PaymentStatus.SUCCEEDED
    assert billing().invoice(tenant_id, invoice.id).status is InvoiceStatus.PAID  # type: ignore[attr-defined]
    assert len(_paid_events(tenant_id)) == 1  # → exactly one ledger PAYMENT (ledger_writer)


def test_mark_paid_racing_the_webhook_gives_one_payment() -> None:
    payments, invoice, provider_payment_id = _finalized_with_pending_attempt()
    tenant_id, invoice_id = invoice.tenant_id, invoice.id  # type: ignore[attr-defined]
    stored = call(FN, "POST", FAKE, {"type": "payment.succeeded", "providerPaymentId": provider_payment_id})
    errors: list[Exception] = []

    def mark_paid() -> None:
        try:
            billing().mark_paid(tenant_id, invoice_id)
        except Exception as error:  # INVALID_TRANSITION when the webhook won
            errors.append(error)

    threads = [
        threading.Thread(target=mark_paid),
        threading.Thread(target=lambda: payments.deliver([("fake", stored.body["eventId"])])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert billing().invoice(tenant_id, invoice_id).status is InvoiceStatus.PAID
    assert len(_paid_events(tenant_id)) == 1
    assert all(getattr(e, "code", "") == "INVALID_TRANSITION" for e in errors), errors
