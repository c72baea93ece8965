"""The Stripe adapter over real HTTP against localstripe, with the official `stripe` library.

What localstripe lacks, and how these tests deal with it (ADR 0060):
* it ignores `Idempotency-Key` (a repeated create makes a second PaymentIntent): the tests check
  the key the adapter *sends* (recorded by the library's own HTTP client), deterministic per
  (invoice, attempt) — real Stripe replays the first answer for it;
* it sends no `refund.*` webhooks and a declined confirmation's error names no PaymentIntent:
  refund webhooks are signed here with Stripe's documented scheme, the decline is matched by the
  attempt's metadata ids;
* its `payment_intent.*` webhooks are real: delivered to a receiver started here, signed by
  localstripe with Stripe's scheme, verified by `stripe.Webhook.construct_event`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe

from infra.local.net import free_port
from meterplex.billing.models import InvoiceStatus
from meterplex.payments.models import EventType, PaymentRequest, PaymentStatus
from meterplex.payments.provider import InvalidWebhook, RefundRequest
from meterplex.payments.repository import ProviderEventRecord
from meterplex.payments.stripe_provider import StripeProvider
from tests.integration.billing.helpers import billing, subscribed
from tests.integration.catalog.handlers import call
from tests.integration.payments.conftest import API_KEY
from tests.integration.payments.helpers import Payments, event_status

pytestmark = pytest.mark.usefixtures("moto_endpoint")
SECRET = "whsec_meterplex_test"
VISA, DECLINED, THREE_D_SECURE = "4242424242424242", "4000000000000341", "4000002500003155"


class Recording(stripe.RequestsClient):
    """The library's own requests-based client, recording each request's headers."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, **kw: Any) -> Any:
        self.sent.append((method, url, dict(headers or {})))
        return super().request(method, url, headers, post_data, **kw)


@pytest.fixture
def recording() -> Recording:
    return Recording()


@pytest.fixture
def provider(localstripe_url: str, recording: Recording) -> StripeProvider:
    return StripeProvider(API_KEY, SECRET, api_base=localstripe_url, http_client=recording)


def customer_with_card(localstripe_url: str, number: str) -> dict[str, str]:
    """A Stripe customer with a card attached: what a tenant's metadata names."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})
    customer = client.v1.customers.create(params={"email": "billing@example.com"})
    card = {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}
    method = client.v1.payment_methods.create(params={"type": "card", "card": card})  # type: ignore[typeddict-item]
    client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    return {"stripeCustomerId": customer.id, "stripePaymentMethodId": method.id}


def request(customer: dict[str, str], attempt: int = 1) -> PaymentRequest:
    return PaymentRequest("t-1", "inv-1", f"pay-{attempt}", attempt, 2_500, "usd", customer)


def sign(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    """Stripe's documented scheme: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`."""
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def test_a_payment_intent_is_created_confirmed_with_our_metadata_and_idempotency_key(
    provider: StripeProvider, recording: Recording, localstripe_url: str
) -> None:
    answer = provider.create_payment(request(customer_with_card(localstripe_url, VISA), attempt=2))
    assert answer.provider_payment_id.startswith("pi_")
    [event] = answer.events
    assert (event.type, event.amount, event.currency) == (EventType.PAYMENT_SUCCEEDED, 2_500, "usd")
    assert event.event_id == f"sync:{answer.provider_payment_id}:payment.succeeded"
    creates = [h for m, url, h in recording.sent if m == "post" and url.endswith("/v1/payment_intents")]
    assert [h.get("Idempotency-Key") for h in creates] == ["meterplex-inv-1-2"]
    intent = stripe.StripeClient(
        API_KEY, base_addresses={"api": localstripe_url}
    ).v1.payment_intents.retrieve(answer.provider_payment_id)
    assert intent.metadata.to_dict() == {
        "tenantId": "t-1",
        "invoiceId": "inv-1",
        "paymentId": "pay-2",
        "attemptNumber": "2",
    }
    assert provider.status(answer.provider_payment_id).state.value == "SUCCEEDED"


def test_a_declined_card_and_a_3ds_card_answer_their_outcomes(
    provider: StripeProvider, localstripe_url: str
) -> None:
    declined = provider.create_payment(request(customer_with_card(localstripe_url, DECLINED)))
    [failed] = declined.events
    assert failed.type is EventType.PAYMENT_FAILED and "declined" in (failed.failure_reason or "").lower()
    assert (failed.tenant_id, failed.payment_id, failed.invoice_id) == ("t-1", "pay-1", "inv-1")
    action = provider.create_payment(request(customer_with_card(localstripe_url, THREE_D_SECURE)))
    assert [e.type for e in action.events] == [EventType.PAYMENT_REQUIRES_ACTION]
    assert provider.status(action.provider_payment_id).state.value == "REQUIRES_ACTION"
    no_card = provider.create_payment(request({}))
    assert no_card.events[0].type is EventType.PAYMENT_FAILED and "stripeCustomerId" in str(
        no_card.events[0].failure_reason
    )


def test_a_refund_is_created_with_its_key_and_answers_succeeded(
    provider: StripeProvider, recording: Recording, localstripe_url: str
) -> None:
    paid = provider.create_payment(request(customer_with_card(localstripe_url, VISA)))
    answer = provider.refund(RefundRequest("t-1", "ref-1", "pay-1", paid.provider_payment_id, 1_000, "usd"))
    assert answer.provider_refund_id.startswith("re_")
    [event] = answer.events
    assert (event.type, event.amount, event.meterplex_refund_id) == (
        EventType.REFUND_SUCCEEDED,
        1_000,
        "ref-1",
    )
    keys = [h.get("Idempotency-Key") for m, url, h in recording.sent if url.endswith("/v1/refunds")]
    assert keys == ["meterplex-refund-ref-1"]


# -- webhooks -----------------------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        Receiver.received.append((body, dict(self.headers)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(localstripe_url: str) -> Iterator[list[tuple[bytes, dict[str, str]]]]:
    """An HTTP endpoint registered with localstripe as a webhook (localstripe signs with SECRET)."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received = []
    endpoint = {"url": f"http://127.0.0.1:{port}/", "secret": SECRET}
    requests.post(
        f"{localstripe_url}/_config/webhooks/meterplex", data=endpoint, auth=(API_KEY, ""), timeout=5
    )
    yield Receiver.received
    server.shutdown()


def _webhook_of(
    received: list[tuple[bytes, dict[str, str]]], type_: str, intent_id: str, timeout_s: float = 10
) -> tuple[bytes, dict[str, str]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for body, headers in list(received):
            sent = json.loads(body)
            if sent["type"] == type_ and sent["data"]["object"]["id"] == intent_id:
                return body, headers
        time.sleep(0.05)
    raise AssertionError(f"localstripe sent no {type_} webhook")


def test_localstripes_signed_webhook_verifies_and_pays_the_invoice_once(
    provider: StripeProvider, localstripe_url: str, receiver: list[tuple[bytes, dict[str, str]]]
) -> None:
    # GIVEN a tenant collected through Stripe (its customer and card in its metadata)
    tenant = subscribed(datetime.now(UTC) - timedelta(days=3))
    tenant.clock.set(datetime.now(UTC))
    payments = Payments(tenant.clock, provider=provider)
    payments.directory.metadata[tenant.id] = customer_with_card(localstripe_url, VISA)
    service = billing(tenant.clock)
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)

    # WHEN the collector charges it: the synchronous answer is stored and processed
    assert payments.deliver(payments.finalized(invoice)) == ["succeeded"]
    assert service.invoice(tenant.id, invoice.id).status is InvoiceStatus.PAID

    # AND localstripe's own payment_intent.succeeded webhook arrives, verified by the library
    [attempt] = payments.service.payments(tenant.id, None, 10)[0]
    body, headers = _webhook_of(receiver, "payment_intent.succeeded", str(attempt.provider_payment_id))
    event, new = payments.intake.receive(provider, body, headers)
    assert new and event.event_id.startswith("evt_") and event.type is EventType.PAYMENT_SUCCEEDED
    assert (event.tenant_id, event.invoice_id) == (tenant.id, invoice.id)  # from the intent's metadata
    # THEN it changes nothing more: one success, one payment
    assert payments.deliver([("stripe", event.event_id)]) == ["duplicate success"]
    [attempt] = payments.service.payments(tenant.id, None, 10)[0]
    assert (
        attempt.status is PaymentStatus.SUCCEEDED and attempt.provider_payment_id == event.provider_payment_id
    )


def test_signatures_tampering_wrong_secret_and_old_timestamps_are_refused_and_nothing_is_stored(
    provider: StripeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meterplex.payments.routes import webhooks

    monkeypatch.setattr(webhooks, "providers_by_name", lambda: {"stripe": provider})
    payload = json.dumps(
        {
            "id": f"evt_test_{time.time_ns()}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {"id": "pi_unknown", "object": "payment_intent", "amount": 100, "metadata": {}}
            },
        }
    ).encode()
    event_id = json.loads(payload)["id"]
    path = "/api/v1/webhooks/stripe"

    def post(body: bytes, signature: str) -> Any:
        return call(
            "webhooks_api", "POST", path, raw_body=body.decode(), headers={"Stripe-Signature": signature}
        )

    tampered = post(payload.replace(b"100", b"999"), sign(payload))
    wrong_secret = post(payload, sign(payload, secret="whsec_someone_else"))
    too_old = post(payload, sign(payload, at=int(time.time()) - 301))
    unsigned = call("webhooks_api", "POST", path, raw_body=payload.decode())
    for reply in (tampered, wrong_secret, too_old, unsigned):
        assert reply.status == 400 and reply.code == "INVALID_WEBHOOK", reply.body
    with pytest.raises(ProviderEventRecord.DoesNotExist):
        event_status("stripe", event_id)  # nothing stored

    valid = post(payload, sign(payload, at=int(time.time()) - 299))
    assert valid.status == 200 and valid.body == {"received": True, "eventId": event_id, "duplicate": False}
    assert event_status("stripe", event_id) == "RECEIVED"
    assert post(payload, sign(payload)).body["duplicate"] is True


def test_a_refund_webhook_signed_as_stripe_does_is_normalized(provider: StripeProvider) -> None:
    payload = json.dumps(
        {
            "id": "evt_refund_1",
            "type": "refund.updated",
            "data": {
                "object": {
                    "id": "re_1",
                    "object": "refund",
                    "status": "succeeded",
                    "amount": 700,
                    "currency": "usd",
                    "payment_intent": "pi_1",
                    "metadata": {"tenantId": "t-1", "paymentId": "pay-1", "refundId": "ref-9"},
                }
            },
        }
    ).encode()
    event = provider.parse_webhook(payload, {"stripe-signature": sign(payload)})
    assert (event.event_id, event.type, event.amount, event.meterplex_refund_id) == (
        "evt_refund_1",
        EventType.REFUND_SUCCEEDED,
        700,
        "ref-9",
    )
    with pytest.raises(InvalidWebhook):
        provider.parse_webhook(payload, {"stripe-signature": sign(payload + b" ")})
    other = json.dumps({"id": "evt_2", "type": "customer.created", "data": {"object": {}}}).encode()
    assert provider.parse_webhook(other, {"Stripe-Signature": sign(other)}).type is EventType.IGNORED
