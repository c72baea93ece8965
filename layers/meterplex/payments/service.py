"""Payments as the API serves them (SPEC §8.2): the tenant's attempts, and refunds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from meterplex.billing.models import InvoiceStatus
from meterplex.payments.collection import Intake
from meterplex.payments.models import Payment, PaymentStatus, Refund
from meterplex.payments.provider import PaymentProvider, RefundRequest
from meterplex.payments.repository import Change, Conflict, PaymentsRepository
from meterplex.platform import audit, topics
from meterplex.platform.audit import Actor, snapshot
from meterplex.platform.clock import Clock, business_clock
from meterplex.platform.errors import Conflict as Refused
from meterplex.platform.errors import NotFound, Unavailable
from meterplex.platform.ids import new_id
from meterplex.platform.observability import logger
from meterplex.platform.pagination import Key

MAX_ATTEMPTS = 5


def payment_not_found(payment_id: str) -> NotFound:
    return NotFound(f"Payment {payment_id} not found", code="PAYMENT_NOT_FOUND")


class PaymentsService:
    def __init__(
        self, repository: PaymentsRepository, provider: PaymentProvider, clock: Clock = business_clock
    ) -> None:
        self._repo = repository
        self._provider = provider
        self._clock = clock

    def payments(
        self, tenant_id: str, start: Key | None, limit: int, status: PaymentStatus | None = None
    ) -> tuple[list[Payment], Key | None]:
        return self._repo.payments(tenant_id, start, limit, status)

    def payment(self, tenant_id: str, payment_id: str) -> Payment:
        payment = self._repo.payment(tenant_id, payment_id)
        if payment is None:
            raise payment_not_found(payment_id)
        return payment

    def refund(
        self, tenant_id: str, invoice_id: str, amount: int | None, actor: Actor = audit.SYSTEM
    ) -> Refund:
        """Refund (part of) the payment that paid the invoice: the amount is reserved on the
        attempt first (never more than was paid, even under concurrent refunds), then the provider
        is asked; its answer comes back as an event (ledger REFUND once it succeeded)."""
        for _ in range(MAX_ATTEMPTS):
            payment, refund = self._reserve(tenant_id, invoice_id, amount, actor)
            if refund is not None:
                break
        else:
            raise Unavailable("The payment is being refunded concurrently; retry", retry_after_s=1)
        assert payment is not None
        reserved = replace(payment, refunded=payment.refunded + refund.amount)
        try:
            answer = self._provider.refund(
                RefundRequest(
                    tenant_id=tenant_id,
                    refund_id=refund.id,
                    payment_id=payment.id,
                    provider_payment_id=payment.provider_payment_id or "",
                    amount=refund.amount,
                    currency=refund.currency,
                )
            )
        except Exception as error:
            logger.exception("refund refused by the provider", refund_id=refund.id)
            failed = replace(refund, status="FAILED", failure_reason=str(error)[:500])
            self._repo.apply(Change(payment=(reserved, payment), refund=(refund, failed)))
            raise Unavailable(
                "The payment provider did not take the refund; retry", retry_after_s=5
            ) from error
        named = replace(refund, provider_refund_id=answer.provider_refund_id)
        try:
            self._repo.apply(Change(refund=(refund, named)))
        except Conflict:
            named = self._repo.refund(tenant_id, refund.id) or named  # its outcome was applied first
        Intake(self._repo, self._clock).store(
            replace(e, tenant_id=tenant_id, payment_id=payment.id, meterplex_refund_id=refund.id)
            for e in answer.events
        )
        logger.info("refund requested", refund_id=refund.id, invoice_id=invoice_id, amount=refund.amount)
        return named

    def _reserve(
        self, tenant_id: str, invoice_id: str, amount: int | None, actor: Actor
    ) -> tuple[Payment | None, Refund | None]:
        snap = self._repo.snapshot(tenant_id, None, invoice_id)
        if snap.invoice is None:
            raise NotFound(f"Invoice {invoice_id} not found", code="INVOICE_NOT_FOUND")
        if snap.invoice.status is not InvoiceStatus.PAID:
            raise Refused(
                f"Invoice {invoice_id} is {snap.invoice.status.value}: only a PAID invoice is refunded",
                code="INVOICE_NOT_PAID",
            )
        collection = snap.collection
        payment = (
            self._repo.payment(tenant_id, collection.payment_id)
            if collection and collection.payment_id
            else None
        )
        if payment is None or payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            raise Refused(
                "The invoice was not paid through the payment provider (settled by hand): refund it there",
                code="NO_PROVIDER_PAYMENT",
            )
        left = payment.refundable
        wanted = left if amount is None else amount
        if left <= 0 or wanted > left:
            raise Refused(
                f"At most {max(left, 0)} {payment.currency} cents of this payment can be refunded",
                code="REFUND_EXCEEDS_PAYMENT",
            )
        now: datetime = self._clock.now()
        refund = Refund(
            id=new_id(),
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            invoice_number=snap.invoice.invoice_number,
            payment_id=payment.id,
            amount=wanted,
            currency=payment.currency,
            status="PENDING",
            created_at=now,
        )
        reserved = replace(payment, refunded=payment.refunded + wanted, updated_at=payment.updated_at)
        try:
            # the refund's audit event (ADR 0090) commits with its reservation
            record = audit.event(
                "refund.created",
                actor=actor,
                tenant_id=tenant_id,
                resource="refund",
                resource_id=refund.id,
                after=snapshot(refund),
            )
            change = Change(
                payment=(payment, reserved), refund=(None, refund), outbox=[(record, topics.DOMAIN)]
            )
            self._repo.apply(change)
        except Conflict:
            return payment, None
        return payment, refund
