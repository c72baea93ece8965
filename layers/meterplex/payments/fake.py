"""The fake payment provider (SPEC §8.2, ADR 0060): deterministic, no account, no network.

* A payment's id is `fake_pi_<uuid5(idempotency key)>`: the same attempt always names the same
  payment. The tenant's metadata `fakePayment: succeed | fail | requires_action` scripts the
  outcome, which the fake emits as its webhook through the intake (the path a real provider's
  webhook takes); unscripted, the payment is *held* PENDING until `POST /webhooks/fake` decides it.
* `POST /webhooks/fake` bodies: `{type, providerPaymentId, amount?, currency?, failureReason?,
  refundId?, id?}`; the event id is `id`, or a SHA-256 of the body's canonical JSON (the same body
  twice is one event). No signature: the route exists only outside production.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from meterplex.payments.models import EventType, PaymentRequest, ProviderEvent
from meterplex.payments.provider import (
    InvalidWebhook,
    ProviderPayment,
    ProviderRefund,
    ProviderState,
    ProviderStatus,
    RefundRequest,
    outcome,
)
from meterplex.platform.api import ApiModel
from meterplex.platform.errors import FieldError
from meterplex.platform.limits import KeyPart

NAME = "fake"
SCRIPT_KEY = "fakePayment"
_NAMESPACE = uuid.UUID("5f0c2a4e-7d1b-4b9e-8a3f-2c6d9e1b7a50")
SCRIPTED = {
    "succeed": (EventType.PAYMENT_SUCCEEDED, None),
    "fail": (EventType.PAYMENT_FAILED, "Card declined (fake provider: scripted to fail)"),
    "requires_action": (EventType.PAYMENT_REQUIRES_ACTION, None),
}
WEBHOOK_TYPES = (
    EventType.PAYMENT_SUCCEEDED,
    EventType.PAYMENT_FAILED,
    EventType.PAYMENT_REQUIRES_ACTION,
    EventType.REFUND_SUCCEEDED,
    EventType.REFUND_FAILED,
)


class FakeWebhook(ApiModel):
    """What `POST /webhooks/fake` accepts (the peer client's simulate-payment-* requests)."""

    type: Literal[
        "payment.succeeded", "payment.failed", "payment.requires_action", "refund.succeeded", "refund.failed"
    ]
    provider_payment_id: KeyPart = Field(description="The fake payment's id (`fake_pi_…`)")
    amount: Annotated[int, Field(ge=0, le=10**12)] | None = None
    currency: Annotated[str, Field(pattern=r"^[a-z]{3}$")] | None = None
    failure_reason: Annotated[str, Field(max_length=500)] | None = None
    refund_id: KeyPart | None = Field(None, description="refund.*: the fake refund's id (`fake_re_…`)")
    id: KeyPart | None = Field(None, description="The event id (default: a hash of the body)")


def payment_id_for(idempotency_key: str) -> str:
    return f"fake_pi_{uuid.uuid5(_NAMESPACE, idempotency_key).hex}"


class FakeProvider:
    name = NAME

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        provider_payment_id = payment_id_for(request.idempotency_key)
        script = SCRIPTED.get(str(request.customer.get(SCRIPT_KEY) or ""))
        if script is None:
            return ProviderPayment(provider_payment_id)  # held until /webhooks/fake
        type_, reason = script
        event = outcome(
            NAME,
            provider_payment_id,
            type_,
            amount=request.amount,
            currency=request.currency,
            failure_reason=reason,
            source="fake",
        )
        return ProviderPayment(provider_payment_id, (event,))

    def status(self, provider_payment_id: str) -> ProviderStatus:
        # The fake decides only by script (emitted at creation) or by /webhooks/fake: anything it
        # is asked about later is waiting for that webhook by contract (SPEC §8.2).
        return ProviderStatus(ProviderState.HELD)

    def refund(self, request: RefundRequest) -> ProviderRefund:
        refund_id = f"fake_re_{uuid.uuid5(_NAMESPACE, request.refund_id).hex}"
        event = outcome(
            NAME,
            request.provider_payment_id,
            EventType.REFUND_SUCCEEDED,
            amount=request.amount,
            currency=request.currency,
            refund_id=refund_id,
            meterplex_refund_id=request.refund_id,
            tenant_id=request.tenant_id,
            payment_id=request.payment_id,
            source="fake",
        )
        return ProviderRefund(refund_id, (event,))

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        try:
            hook = FakeWebhook.model_validate_json(body or b"null")
        except ValidationError as error:
            details = [FieldError(".".join(map(str, e["loc"])) or "body", e["msg"]) for e in error.errors()]
            raise InvalidWebhook("The fake provider's webhook is invalid", details=details) from error
        canonical = json.dumps(hook.model_dump(by_alias=True, exclude_none=True), sort_keys=True)
        event_id = hook.id or f"fake_evt_{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"
        return ProviderEvent(
            provider=NAME,
            event_id=event_id,
            type=EventType(hook.type),
            provider_payment_id=hook.provider_payment_id,
            amount=hook.amount,
            currency=hook.currency,
            failure_reason=hook.failure_reason,
            refund_id=hook.refund_id,
            provider_type=hook.type,
        )
