"""Payments API schemas (SPEC §8.2 field names) and the mapping from the domain types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meterplex.catalog.schemas import Timestamp
from meterplex.payments.models import Payment, PaymentStatus, Refund
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.pagination import CursorMeta


class PaymentOut(ApiResponse):
    id: str
    invoice_id: str
    invoice_number: str | None
    provider: str = Field(description="fake | stripe")
    provider_payment_id: str | None = Field(description="The provider's id (Stripe: the PaymentIntent)")
    status: PaymentStatus
    amount: int = Field(description="Cents")
    currency: str
    failure_reason: str | None
    attempt_number: int = Field(description="1 for the first attempt, then one per retry")
    next_retry_at: Timestamp | None = Field(description="When the retry after this failure is due")
    created_at: Timestamp


class PaymentPage(ApiResponse):
    data: list[PaymentOut]
    meta: CursorMeta


class RefundRequest(ApiModel):
    amount: Annotated[int, Field(ge=1, le=10**12)] | None = Field(
        None, description="Cents; default: everything not refunded yet"
    )


class RefundOut(ApiResponse):
    id: str
    invoice_id: str
    payment_id: str
    amount: int
    currency: str
    status: str = Field(description="PENDING (the provider's answer follows) | SUCCEEDED | FAILED")
    failure_reason: str | None
    created_at: Timestamp


class WebhookAck(ApiResponse):
    received: bool = True
    event_id: str
    duplicate: bool = Field(description="The event was stored before: nothing changed")


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut(
        id=p.id,
        invoice_id=p.invoice_id,
        invoice_number=p.invoice_number,
        provider=p.provider,
        provider_payment_id=p.provider_payment_id,
        status=p.status,
        amount=p.amount,
        currency=p.currency,
        failure_reason=p.failure_reason,
        attempt_number=p.attempt_number,
        next_retry_at=p.next_retry_at,
        created_at=p.created_at,
    )


def refund_out(r: Refund) -> RefundOut:
    return RefundOut(
        id=r.id,
        invoice_id=r.invoice_id,
        payment_id=r.payment_id,
        amount=r.amount,
        currency=r.currency,
        status=r.status,
        failure_reason=r.failure_reason,
        created_at=r.created_at,
    )
