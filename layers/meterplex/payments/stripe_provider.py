"""The Stripe adapter (ADR 0060): the official `stripe` library, one PaymentIntent per attempt.

* create: `PaymentIntent` on the tenant's `metadata.stripeCustomerId` / `stripePaymentMethodId`,
  `confirm=true, off_session=true`, metadata `{tenantId, invoiceId, paymentId, attemptNumber}` (so
  its webhooks name the attempt), `Idempotency-Key: meterplex-<invoiceId>-<attemptNumber>`. A
  synchronous answer (succeeded, declined, requires_action) is returned as an outcome event.
* webhooks: `stripe.Webhook.construct_event(raw body, Stripe-Signature, secret, tolerance=300)`;
  `payment_intent.succeeded|payment_failed|requires_action` and `refund.created|updated` are mapped;
  other verified types are normalized as IGNORED (stored, not acted on).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import stripe

from meterplex.payments.models import EventType, PaymentRequest, ProviderEvent
from meterplex.payments.provider import (
    InvalidWebhook,
    ProviderPayment,
    ProviderRefund,
    ProviderState,
    ProviderStatus,
    RefundRequest,
    header,
    outcome,
)

NAME = "stripe"
TOLERANCE_S = 300
SIGNATURE_HEADER = "Stripe-Signature"
CUSTOMER_KEY, METHOD_KEY = "stripeCustomerId", "stripePaymentMethodId"
_PAYMENT_EVENTS = {
    "payment_intent.succeeded": EventType.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": EventType.PAYMENT_FAILED,
    "payment_intent.requires_action": EventType.PAYMENT_REQUIRES_ACTION,
}
_REFUND_EVENTS = ("refund.created", "refund.updated")
_STATES = {
    "succeeded": ProviderState.SUCCEEDED,
    "processing": ProviderState.PENDING,
    "requires_confirmation": ProviderState.PENDING,
    "requires_capture": ProviderState.PENDING,
    "requires_action": ProviderState.REQUIRES_ACTION,
    "requires_payment_method": ProviderState.FAILED,
    "canceled": ProviderState.FAILED,
}


def _failure(intent: Mapping[str, Any]) -> str:
    error = intent.get("last_payment_error") or {}
    return str(error.get("message") or intent.get("status") or "payment failed")


class StripeProvider:
    name = NAME

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        http_client: Any | None = None,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=http_client,
            max_network_retries=2,  # Stripe's retries reuse the idempotency key
        )

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        customer, method = request.customer.get(CUSTOMER_KEY), request.customer.get(METHOD_KEY)
        ours: dict[str, Any] = {
            "tenant_id": request.tenant_id,
            "payment_id": request.payment_id,
            "invoice_id": request.invoice_id,
        }
        if not isinstance(customer, str) or not isinstance(method, str):
            reason = f"the tenant has no Stripe payment method (metadata.{CUSTOMER_KEY}, {METHOD_KEY})"
            failed = outcome(
                NAME,
                None,
                EventType.PAYMENT_FAILED,
                failure_reason=reason,
                subject=request.idempotency_key,
                **ours,
            )
            return ProviderPayment("", (failed,))
        params = {
            "amount": request.amount,
            "currency": request.currency,
            "customer": customer,
            "payment_method": method,
            "confirm": True,
            "off_session": True,
            "metadata": {
                "tenantId": request.tenant_id,
                "invoiceId": request.invoice_id,
                "paymentId": request.payment_id,
                "attemptNumber": str(request.attempt_number),
            },
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            ).to_dict()
        except stripe.CardError as error:  # declined: the intent exists, failed
            intent_id = _intent_id_of(error)
            failed = outcome(
                NAME,
                intent_id,
                EventType.PAYMENT_FAILED,
                failure_reason=error.user_message or str(error),
                subject=intent_id or request.idempotency_key,
                **ours,
            )
            return ProviderPayment(intent_id or "", (failed,))
        return ProviderPayment(intent["id"], self._sync_outcome(intent, ours))

    def _sync_outcome(self, intent: Mapping[str, Any], ours: dict[str, Any]) -> tuple[ProviderEvent, ...]:
        state = _STATES.get(str(intent.get("status")), ProviderState.PENDING)
        types = {
            ProviderState.SUCCEEDED: EventType.PAYMENT_SUCCEEDED,
            ProviderState.FAILED: EventType.PAYMENT_FAILED,
            ProviderState.REQUIRES_ACTION: EventType.PAYMENT_REQUIRES_ACTION,
        }
        if state not in types:
            return ()  # processing: the webhook will tell
        failure = _failure(intent) if state is ProviderState.FAILED else None
        return (
            outcome(
                NAME,
                intent["id"],
                types[state],
                amount=intent.get("amount"),
                currency=intent.get("currency"),
                failure_reason=failure,
                **ours,
            ),
        )

    def status(self, provider_payment_id: str) -> ProviderStatus:
        intent = self._client.v1.payment_intents.retrieve(provider_payment_id).to_dict()
        state = _STATES.get(str(intent.get("status")), ProviderState.PENDING)
        return ProviderStatus(state, _failure(intent) if state is ProviderState.FAILED else None)

    def refund(self, request: RefundRequest) -> ProviderRefund:
        refund = self._client.v1.refunds.create(
            params={
                "payment_intent": request.provider_payment_id,
                "amount": request.amount,
                "metadata": {
                    "tenantId": request.tenant_id,
                    "paymentId": request.payment_id,
                    "refundId": request.refund_id,
                },
            },
            options={"idempotency_key": f"meterplex-refund-{request.refund_id}"},
        ).to_dict()
        event = self._refund_event(refund, source="sync")
        return ProviderRefund(refund["id"], (event,) if event.type is not EventType.IGNORED else ())

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        signature = header(headers, SIGNATURE_HEADER)
        try:
            stripe.Webhook.construct_event(body, signature, self._webhook_secret, tolerance=TOLERANCE_S)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidWebhook(f"Stripe webhook not verified: {error}") from error
        raw = json.loads(body)  # verified: the exact bytes Stripe signed
        return self.normalize(raw)

    def normalize(self, raw: Mapping[str, Any]) -> ProviderEvent:
        event_id, type_ = str(raw.get("id") or ""), str(raw.get("type") or "")
        obj = (raw.get("data") or {}).get("object") or {}
        if not event_id:
            raise InvalidWebhook("Stripe webhook without an event id")
        if type_ in _PAYMENT_EVENTS:
            metadata = obj.get("metadata") or {}
            kind = _PAYMENT_EVENTS[type_]
            return ProviderEvent(
                provider=NAME,
                event_id=event_id,
                type=kind,
                provider_payment_id=obj.get("id"),
                amount=obj.get("amount"),
                currency=obj.get("currency"),
                failure_reason=_failure(obj) if kind is EventType.PAYMENT_FAILED else None,
                tenant_id=metadata.get("tenantId"),
                payment_id=metadata.get("paymentId"),
                invoice_id=metadata.get("invoiceId"),
                provider_type=type_,
            )
        if type_ in _REFUND_EVENTS:
            event = self._refund_event(obj, source=type_)
            return replace(event, event_id=event_id)
        return ProviderEvent(provider=NAME, event_id=event_id, type=EventType.IGNORED, provider_type=type_)

    @staticmethod
    def _refund_event(refund: Mapping[str, Any], *, source: str) -> ProviderEvent:
        metadata = refund.get("metadata") or {}
        status = refund.get("status")
        type_ = {"succeeded": EventType.REFUND_SUCCEEDED, "failed": EventType.REFUND_FAILED}.get(
            str(status), EventType.IGNORED
        )
        return outcome(
            NAME,
            refund.get("payment_intent"),
            type_,
            amount=refund.get("amount"),
            currency=refund.get("currency"),
            failure_reason=refund.get("failure_reason") if type_ is EventType.REFUND_FAILED else None,
            refund_id=refund.get("id"),
            meterplex_refund_id=metadata.get("refundId"),
            tenant_id=metadata.get("tenantId"),
            payment_id=metadata.get("paymentId"),
            source=source,
        )


def _intent_id_of(error: stripe.StripeError) -> str | None:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    intent = (body.get("error") or {}).get("payment_intent") or {}
    return intent.get("id") if isinstance(intent, dict) else None
