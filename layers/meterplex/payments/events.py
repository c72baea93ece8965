"""Payments' domain events (docs/events.md): `payment.succeeded|failed|requires_action` on the
domain topic (audit trail, outbound webhooks), `payment.refunded` on the billing topic (ledger
REFUND), and the subscription's standing changes (`subscription.past_due`, `subscription.updated`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex.payments.models import Payment, Refund
from meterplex.platform.clock import iso
from meterplex.platform.events import DomainEvent

RESOURCE = "payment"
SUCCEEDED = "payment.succeeded"
FAILED = "payment.failed"
REQUIRES_ACTION = "payment.requires_action"
STANDING_PAST_DUE = "subscription.past_due"
STANDING_CHANGED = "subscription.updated"


def payment_fields(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "invoiceId": payment.invoice_id,
        "invoiceNumber": payment.invoice_number,
        "provider": payment.provider,
        "providerPaymentId": payment.provider_payment_id,
        "status": payment.status.value,
        "amount": payment.amount,
        "currency": payment.currency,
        "failureReason": payment.failure_reason,
        "attemptNumber": payment.attempt_number,
        "nextRetryAt": iso(payment.next_retry_at) if payment.next_retry_at else None,
    }


def payment_event(type_: str, payment: Payment, at: datetime, **extra: Any) -> DomainEvent:
    return DomainEvent.new(
        type_,
        tenant_id=payment.tenant_id,
        at=at,
        actor=f"provider:{payment.provider}",
        data={"resource": RESOURCE, "resourceId": payment.id, "changes": payment_fields(payment) | extra},
    )


def refunded_event(refund: Refund, at: datetime) -> DomainEvent:
    """`payment.refunded`: the ledger writer's REFUND entry (billing.ledger)."""
    return DomainEvent.new(
        "payment.refunded",
        tenant_id=refund.tenant_id,
        at=at,
        actor="system",
        data={
            "resource": "refund",
            "resourceId": refund.id,
            "changes": {
                "refundId": refund.id,
                "paymentId": refund.payment_id,
                "invoiceId": refund.invoice_id,
                "invoiceNumber": refund.invoice_number,
                "amount": refund.amount,
                "currency": refund.currency,
            },
        },
    )


def standing_event(
    tenant_id: str, subscription_id: str | None, before: str, after: str, at: datetime
) -> DomainEvent:
    type_ = STANDING_PAST_DUE if after == "PAST_DUE" and before == "ACTIVE" else STANDING_CHANGED
    return DomainEvent.new(
        type_,
        tenant_id=tenant_id,
        at=at,
        data={
            "resource": "subscription",
            "resourceId": subscription_id or "",
            "changes": {"standing": after, "standingBefore": before},
        },
    )
