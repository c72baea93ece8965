"""Applying a stored provider event (ADR 0060): the `payment_events` consumer's rules.

succeeded → attempt SUCCEEDED, invoice PAID (`invoice.paid` → ledger PAYMENT), collection settled,
standing restored when nothing else is in dunning; failed → attempt FAILED, the next retry (or
UNPAID, or a cancellation, when the schedule is exhausted); requires_action → REQUIRES_ACTION;
refund.succeeded → refund SUCCEEDED, `payment.refunded` → ledger REFUND; refund.failed → the
reservation released. Each is ONE transaction with the event's `RECEIVED → PROCESSED`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from meterplex.billing import events as invoice_events
from meterplex.billing.models import InvoiceStatus, paid
from meterplex.payments import dunning
from meterplex.payments import events as payment_events
from meterplex.payments.models import (
    OPEN_STATUSES,
    EventStatus,
    EventType,
    PaymentStatus,
    ProviderEvent,
)
from meterplex.payments.repository import (
    LEDGER_TOPIC,
    PAYMENT_TOPIC,
    Change,
    Conflict,
    GrantStanding,
    PaymentsRepository,
    Snapshot,
)
from meterplex.platform import audit, business_metrics, topics
from meterplex.platform.clock import Clock, business_clock
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger
from meterplex.subscriptions.audits import cancellation_audit
from meterplex.subscriptions.models import Subscription, as_of, cancelled_now
from meterplex.subscriptions.standing import Standing

MAX_ATTEMPTS = 5


class UnknownTarget(ValueError):
    """The event names no payment (or refund) Meterplex knows: poison, dead-lettered."""


class SubscriptionPort(Protocol):
    def current(self, tenant_id: str) -> Subscription | None: ...
    def cancel(self, sub: Subscription, audit: DomainEvent) -> None: ...


@dataclass(frozen=True)
class Policy:
    retry_days: tuple[int, ...]
    cancel_when_exhausted: bool


class StandingChanges:
    """Adds a standing change (and the grants it moves) to a `Change`."""

    def __init__(self, subscriptions: SubscriptionPort, clock: Clock) -> None:
        self._subscriptions = subscriptions
        self._clock = clock

    def add(
        self, change: Change, standing: Standing, invoice_id: str, level: str | None, at: datetime
    ) -> None:
        after = standing.with_invoice(invoice_id, level)
        if after.invoices == standing.invoices:
            return
        change.standing = (standing, after)
        if after.grant_value == standing.grant_value:
            return
        sub = self._subscriptions.current(standing.tenant_id)
        live = sub is not None and as_of(sub, at).is_live
        if sub is not None and live:
            keys = tuple(e.feature_key for e in sub.entitlements)
            change.grants = GrantStanding(standing.tenant_id, sub.id, keys, after.grant_value)
        event = payment_events.standing_event(
            standing.tenant_id, sub.id if sub else None, standing.level, after.level, at
        )
        change.outbox.append((event, topics.DOMAIN))


class EventProcessor:
    def __init__(
        self,
        repository: PaymentsRepository,
        subscriptions: SubscriptionPort,
        policy: Policy,
        clock: Clock = business_clock,
    ) -> None:
        self._repo = repository
        self._subscriptions = subscriptions
        self._policy = policy
        self._clock = clock
        self._standing = StandingChanges(subscriptions, clock)

    def process(self, event: ProviderEvent) -> str:
        """Apply `event` once; what happened (for logs). UnknownTarget: poison."""
        if event.type is EventType.IGNORED:
            self._repo.close_event(event, EventStatus.IGNORED, f"not acted on: {event.provider_type}")
            return "ignored"
        if event.type in (EventType.REFUND_SUCCEEDED, EventType.REFUND_FAILED):
            return self._refund(event)
        tenant_id, payment_id, invoice_id = self._target(event)
        for _ in range(MAX_ATTEMPTS):
            snap = self._repo.snapshot(tenant_id, payment_id, invoice_id)
            if snap.payment is None:
                raise UnknownTarget(f"UNKNOWN_PAYMENT: no payment attempt {payment_id}")
            now = self._clock.now()
            change, outcome = self._payment_change(event, snap, now)
            try:
                self._repo.apply(change)
            except Conflict as conflict:
                if conflict.event_done:
                    return "already processed"
                continue
            if change.payment is not None and change.payment[1].status is PaymentStatus.FAILED:
                business_metrics.count(business_metrics.PAYMENTS_FAILED)
            self._after(outcome, snap, now)
            logger.info("payment event processed", event_id=event.event_id, type=event.type, outcome=outcome)
            return outcome
        raise RuntimeError(f"payment {payment_id} kept changing under event {event.event_id}; retried later")

    def _target(self, event: ProviderEvent) -> tuple[str, str, str]:
        if event.tenant_id and event.payment_id and event.invoice_id:
            return event.tenant_id, event.payment_id, event.invoice_id
        found = (
            self._repo.reference(event.provider, event.provider_payment_id)
            if event.provider_payment_id
            else None
        )
        if found is None:
            raise UnknownTarget(
                f"UNKNOWN_PAYMENT: no payment attempt has {event.provider} id {event.provider_payment_id!r}"
            )
        return found

    def _payment_change(self, event: ProviderEvent, snap: Snapshot, now: datetime) -> tuple[Change, str]:
        payment, collection, invoice = snap.payment, snap.collection, snap.invoice
        assert payment is not None
        change = Change(event=event)
        current = collection is not None and not collection.closed and collection.payment_id == payment.id
        if event.type is EventType.PAYMENT_SUCCEEDED:
            if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
                return change, "duplicate success"
            after = replace(
                payment,
                status=PaymentStatus.SUCCEEDED,
                provider_payment_id=payment.provider_payment_id or event.provider_payment_id,
                failure_reason=None,
                next_retry_at=None,
                updated_at=now,
            )
            change.payment = (payment, after)
            already_paid = invoice is None or invoice.status is not InvoiceStatus.FINALIZED
            if invoice is not None and invoice.status is InvoiceStatus.FINALIZED:
                paid_invoice = paid(invoice, now)
                actor = f"provider:{payment.provider}"
                invoice_event = invoice_events.invoice_event(
                    invoice_events.PAID, paid_invoice, now, previous=invoice.status, actor=actor
                )
                change.invoice = (invoice, paid_invoice, [invoice_event])
            if collection is not None and not collection.closed:
                change.collection = (collection, dunning.settled(collection))
                self._standing.add(change, snap.standing, collection.invoice_id, None, now)
            extra = {"invoiceAlreadyPaid": True} if already_paid else {}
            if already_paid:
                logger.warning("payment succeeded for an invoice already settled", payment_id=payment.id)
            change.outbox.append(
                (payment_events.payment_event(payment_events.SUCCEEDED, after, now, **extra), PAYMENT_TOPIC)
            )
            return change, "succeeded"
        if payment.status not in OPEN_STATUSES:
            return change, f"stale {event.type.value}: the attempt is {payment.status.value}"
        if event.type is EventType.PAYMENT_REQUIRES_ACTION:
            after = replace(payment, status=PaymentStatus.REQUIRES_ACTION, updated_at=now)
            change.payment = (payment, after)
            if current and collection is not None:
                change.collection = (collection, dunning.waiting(collection))
            change.outbox.append(
                (payment_events.payment_event(payment_events.REQUIRES_ACTION, after, now), PAYMENT_TOPIC)
            )
            return change, "requires action"
        # payment.failed
        reason = event.failure_reason or "The payment failed"
        due = None
        outcome = "failed"
        if (
            current
            and collection is not None
            and invoice is not None
            and invoice.status is InvoiceStatus.FINALIZED
        ):
            after_collection, due = dunning.failed(
                collection, payment.attempt_number, now, self._policy.retry_days
            )
            change.collection = (collection, after_collection)
            self._standing.add(
                change, snap.standing, collection.invoice_id, dunning.standing_level(after_collection), now
            )
            outcome = "failed, retry scheduled" if due else "failed, retries exhausted"
        after = replace(
            payment, status=PaymentStatus.FAILED, failure_reason=reason, next_retry_at=due, updated_at=now
        )
        change.payment = (payment, after)
        change.outbox.append((payment_events.payment_event(payment_events.FAILED, after, now), PAYMENT_TOPIC))
        return change, outcome

    def _after(self, outcome: str, snap: Snapshot, now: datetime) -> None:
        """Exhausted retries with `MP_PAYMENT_EXHAUSTED=cancel`: the subscription ends now."""
        if outcome != "failed, retries exhausted" or not self._policy.cancel_when_exhausted:
            return
        assert snap.payment is not None
        sub = self._subscriptions.current(snap.payment.tenant_id)
        if sub is None or not (current := as_of(sub, now)).is_live:
            return
        try:
            cancelled = cancelled_now(sub, now)
            self._subscriptions.cancel(cancelled, cancellation_audit(audit.SYSTEM, current, cancelled))
            logger.info("subscription cancelled: payments exhausted", subscription_id=sub.id)
        except Exception:
            logger.exception("cancelling the unpaid subscription failed", subscription_id=sub.id)

    def _refund(self, event: ProviderEvent) -> str:
        if not (event.tenant_id and event.meterplex_refund_id):
            raise UnknownTarget(
                f"UNKNOWN_REFUND: {event.provider} refund {event.refund_id!r} names no Meterplex refund"
            )
        for _ in range(MAX_ATTEMPTS):
            refund = self._repo.refund(event.tenant_id, event.meterplex_refund_id)
            if refund is None:
                raise UnknownTarget(f"UNKNOWN_REFUND: no refund {event.meterplex_refund_id}")
            payment = self._repo.payment(refund.tenant_id, refund.payment_id)
            if payment is None:
                raise UnknownTarget(f"UNKNOWN_PAYMENT: no payment attempt {refund.payment_id}")
            change = Change(event=event)
            now = self._clock.now()
            outcome = f"refund already {refund.status}"
            if refund.status == "PENDING" and event.type is EventType.REFUND_SUCCEEDED:
                done = replace(
                    refund,
                    status="SUCCEEDED",
                    provider_refund_id=event.refund_id or refund.provider_refund_id,
                )
                change.refund = (refund, done)
                if payment.refunded >= payment.amount:
                    change.payment = (
                        payment,
                        replace(payment, status=PaymentStatus.REFUNDED, updated_at=now),
                    )
                change.outbox.append((payment_events.refunded_event(done, now), LEDGER_TOPIC))
                outcome = "refunded"
            elif refund.status == "PENDING":
                change.refund = (
                    refund,
                    replace(refund, status="FAILED", failure_reason=event.failure_reason),
                )
                change.payment = (
                    payment,
                    replace(payment, refunded=max(0, payment.refunded - refund.amount), updated_at=now),
                )
                outcome = "refund failed"
            try:
                self._repo.apply(change)
            except Conflict as conflict:
                if conflict.event_done:
                    return "already processed"
                continue
            return outcome
        raise RuntimeError(f"refund {event.meterplex_refund_id} kept changing; retried later")
