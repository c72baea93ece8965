"""The payment provider port (ADR 0060). Adapters: `fake` (fake.py), `stripe` (stripe_provider.py).

Every call may answer *outcome events*: what the provider decided at once (a scripted fake, a
PaymentIntent confirmed synchronously, a refund that succeeded). They carry deterministic ids and
go through the same intake as webhooks, so a repeated call stores nothing new and every outcome is
processed once, by the same consumer, whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from meterplex.payments.models import EventType, PaymentRequest, ProviderEvent
from meterplex.platform.errors import InvalidInput


class InvalidWebhook(InvalidInput):
    """A webhook whose signature, timestamp or body does not verify: 400, nothing stored."""

    default_code = "INVALID_WEBHOOK"


class ProviderState(StrEnum):
    PENDING = "PENDING"  # still processing at the provider
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    HELD = "HELD"  # deliberately waiting for an outside decision (the fake's unscripted payments)


@dataclass(frozen=True)
class ProviderStatus:
    state: ProviderState
    failure_reason: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    provider_payment_id: str
    events: tuple[ProviderEvent, ...] = ()


@dataclass(frozen=True)
class RefundRequest:
    tenant_id: str
    refund_id: str  # ours: the idempotency key
    payment_id: str
    provider_payment_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class ProviderRefund:
    provider_refund_id: str
    events: tuple[ProviderEvent, ...] = ()


class PaymentProvider(Protocol):
    name: str

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        """Charge the invoice; the same `request.idempotency_key` always names the same payment."""
        ...

    def status(self, provider_payment_id: str) -> ProviderStatus: ...

    def refund(self, request: RefundRequest) -> ProviderRefund: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify and normalize a webhook; InvalidWebhook when it does not verify."""
        ...


def outcome(
    provider: str,
    provider_payment_id: str | None,
    type_: EventType,
    *,
    amount: int | None = None,
    currency: str | None = None,
    failure_reason: str | None = None,
    tenant_id: str | None = None,
    payment_id: str | None = None,
    invoice_id: str | None = None,
    refund_id: str | None = None,
    meterplex_refund_id: str | None = None,
    source: str = "sync",
    subject: str | None = None,
) -> ProviderEvent:
    """An outcome the provider answered directly (not by webhook): its id is deterministic per
    (payment or refund, outcome), so asking twice stores one event."""
    subject = subject or refund_id or provider_payment_id
    return ProviderEvent(
        provider=provider,
        event_id=f"{source}:{subject}:{type_.value}",
        type=type_,
        provider_payment_id=provider_payment_id,
        amount=amount,
        currency=currency,
        failure_reason=failure_reason,
        refund_id=refund_id,
        tenant_id=tenant_id,
        payment_id=payment_id,
        invoice_id=invoice_id,
        meterplex_refund_id=meterplex_refund_id,
        provider_type=source,
    )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header, whatever its case (API Gateway passes them as the client sent them)."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
