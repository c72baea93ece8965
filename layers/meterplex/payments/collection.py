"""Collecting invoices (ADR 0060): starting attempts, the provider call, the outcome events it
answered, closing a collection when its invoice is paid or voided, and the payments run (retries,
the janitor, overdue manual invoices).

Intake: every verified provider event — a webhook, or an outcome a provider call answered — is
stored once (`PaymentsRepository.store_event`) and processed by `payment_events` from the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from meterplex.payments import dunning
from meterplex.payments.models import (
    Action,
    Collection,
    CollectionState,
    EventType,
    Payment,
    PaymentRequest,
    PaymentStatus,
    ProviderEvent,
)
from meterplex.payments.processor import StandingChanges, SubscriptionPort
from meterplex.payments.provider import PaymentProvider, ProviderState, outcome
from meterplex.payments.repository import Change, Conflict, PaymentsRepository
from meterplex.platform.clock import Clock, business_clock, iso, parse_iso
from meterplex.platform.ids import new_id
from meterplex.platform.observability import logger

MAX_ATTEMPTS = 5
EventKey = tuple[str, str]  # (provider, event id)


class TenantReader(Protocol):
    def collection_of(self, tenant_id: str) -> tuple[bool, dict[str, Any]]:
        """(automatic collection?, the tenant's metadata)."""
        ...


class Intake:
    """Verify → store. The one door every provider event comes through."""

    def __init__(self, repository: PaymentsRepository, clock: Clock = business_clock) -> None:
        self._repo = repository
        self._clock = clock

    def receive(
        self, provider: PaymentProvider, body: bytes, headers: Mapping[str, str]
    ) -> tuple[ProviderEvent, bool]:
        """A webhook: verified (InvalidWebhook → 400, nothing stored), then stored; (event, new?)."""
        event = provider.parse_webhook(body, headers)
        return event, self._repo.store_event(event, self._clock.now())

    def store(self, events: Iterable[ProviderEvent]) -> list[EventKey]:
        keys = []
        for event in events:
            self._repo.store_event(event, self._clock.now())
            keys.append((event.provider, event.event_id))
        return keys


class Collector:
    def __init__(
        self,
        repository: PaymentsRepository,
        provider: PaymentProvider,
        tenants: TenantReader,
        subscriptions: SubscriptionPort,
        clock: Clock = business_clock,
    ) -> None:
        self._repo = repository
        self._provider = provider
        self._tenants = tenants
        self._clock = clock
        self._intake = Intake(repository, clock)
        self._standing = StandingChanges(subscriptions, clock)

    # -- invoice.finalized -----------------------------------------------------------------------
    def invoice_finalized(self, tenant_id: str, invoice: Mapping[str, Any]) -> list[EventKey]:
        """Start the invoice's collection (once); the outcome events stored."""
        invoice_id, total = str(invoice["id"]), int(invoice["total"])
        if total <= 0:
            return []  # nothing to collect
        existing = self._repo.collection(tenant_id, invoice_id)
        if existing is not None:
            return self._resume(existing)
        automatic, metadata = self._tenants.collection_of(tenant_id)
        now = self._clock.now()
        due = invoice.get("dueDate")
        fresh = Collection(
            tenant_id=tenant_id,
            invoice_id=invoice_id,
            invoice_number=invoice.get("invoiceNumber"),
            subscription_id=str(invoice.get("subscriptionId") or ""),
            amount=total,
            currency=str(invoice["currency"]),
            automatic=automatic,
            state=CollectionState.OPEN,
            created_at=now,
            action=None if automatic or not due else Action.OVERDUE,
            action_at=None if automatic or not due else parse_iso(str(due)),
        )
        if not automatic:
            with suppress(Conflict):  # a redelivery raced us: the collection exists
                self._repo.apply(Change(collection=(fresh, fresh)))
            return []
        return self._start_attempt(fresh, 1, metadata)

    def _resume(self, collection: Collection) -> list[EventKey]:
        """A redelivered message, or a crash between steps: call the provider again if the
        current attempt never got its provider id (the call is idempotent)."""
        if collection.closed or not collection.automatic or collection.payment_id is None:
            return []
        payment = self._repo.payment(collection.tenant_id, collection.payment_id)
        if payment is None or payment.provider_payment_id or payment.status is not PaymentStatus.PENDING:
            return []
        _, metadata = self._tenants.collection_of(collection.tenant_id)
        return self._charge(payment, metadata)

    def _start_attempt(self, before: Collection, number: int, metadata: dict[str, Any]) -> list[EventKey]:
        now = self._clock.now()
        payment = Payment(
            id=new_id(),
            tenant_id=before.tenant_id,
            invoice_id=before.invoice_id,
            invoice_number=before.invoice_number,
            provider=self._provider.name,
            attempt_number=number,
            amount=before.amount,
            currency=before.currency,
            status=PaymentStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        after = replace(dunning.started(before, payment.id, number, now), state=before.state)
        try:
            self._repo.apply(Change(payment=(None, payment), collection=(before, after)))
        except Conflict:
            moved = self._repo.collection(before.tenant_id, before.invoice_id)
            return self._resume(moved) if moved is not None else []
        logger.info(
            "payment attempt started", invoice_id=before.invoice_id, attempt=number, payment_id=payment.id
        )
        return self._charge(payment, metadata)

    def _charge(self, payment: Payment, metadata: dict[str, Any]) -> list[EventKey]:
        request = PaymentRequest(
            tenant_id=payment.tenant_id,
            invoice_id=payment.invoice_id,
            payment_id=payment.id,
            attempt_number=payment.attempt_number,
            amount=payment.amount,
            currency=payment.currency,
            customer=metadata,
        )
        answer = self._provider.create_payment(request)
        if answer.provider_payment_id:
            named = replace(
                payment, provider_payment_id=answer.provider_payment_id, updated_at=self._clock.now()
            )
            reference = (self._provider.name, answer.provider_payment_id, named)
            # a fast outcome may have named the attempt first: then there is nothing to do
            with suppress(Conflict):
                self._repo.apply(Change(payment=(payment, named), reference=reference))
        return self._intake.store(
            replace(e, tenant_id=payment.tenant_id, payment_id=payment.id, invoice_id=payment.invoice_id)
            for e in answer.events
        )

    # -- invoice.paid / invoice.voided -----------------------------------------------------------
    def invoice_settled(self, tenant_id: str, invoice_id: str, *, voided: bool) -> None:
        """The invoice was paid (any way) or voided: its collection ends, its dunning with it."""
        for _ in range(MAX_ATTEMPTS):
            collection = self._repo.collection(tenant_id, invoice_id)
            if collection is None or collection.closed:
                return
            after = dunning.closed(collection) if voided else dunning.settled(collection)
            change = Change(collection=(collection, after))
            from meterplex.subscriptions.standing import read_standing

            self._standing.add(change, read_standing(tenant_id), invoice_id, None, self._clock.now())
            try:
                self._repo.apply(change)
                return
            except Conflict:
                continue
        raise RuntimeError(f"collection of {invoice_id} kept changing; retried later")

    # -- the payments run --------------------------------------------------------------------------
    def run(self, as_of: datetime) -> dict[str, Any]:
        """Every collection action due by `as_of`: retries, janitor checks, overdue invoices."""
        stored: list[EventKey] = []
        done = 0
        seen: set[tuple[str, str]] = set()
        for due in self._repo.due(as_of):
            if (due.tenant_id, due.invoice_id) in seen:
                continue
            seen.add((due.tenant_id, due.invoice_id))
            collection = self._repo.collection(due.tenant_id, due.invoice_id)
            if collection is None or collection.action is None or collection.action_at is None:
                continue
            if collection.closed or collection.action_at > as_of:
                continue
            stored += self._act(collection, as_of)
            done += 1
        logger.info("payments run", as_of=iso(as_of), actions=done, events=len(stored))
        return {"asOf": iso(as_of), "actions": done, "events": [list(k) for k in stored]}

    def _act(self, collection: Collection, as_of: datetime) -> list[EventKey]:
        if collection.action is Action.RETRY:
            _, metadata = self._tenants.collection_of(collection.tenant_id)
            return self._start_attempt(collection, collection.attempts + 1, metadata)
        if collection.action is Action.OVERDUE:
            after = dunning.overdue(collection)
            change = Change(collection=(collection, after))
            from meterplex.subscriptions.standing import read_standing

            self._standing.add(
                change,
                read_standing(collection.tenant_id),
                collection.invoice_id,
                dunning.standing_level(after),
                self._clock.now(),
            )
            with suppress(Conflict):  # paid meanwhile (or a repeated run): the next run sees the truth
                self._repo.apply(change)
            return []
        return self._check_pending(collection)

    def _check_pending(self, collection: Collection) -> list[EventKey]:
        """The janitor: an attempt PENDING for 12 h — ask the provider, store what it says."""
        payment = self._repo.payment(collection.tenant_id, collection.payment_id or "")
        if payment is None or payment.status is not PaymentStatus.PENDING:
            return self._clear_action(collection)
        if not payment.provider_payment_id:
            _, metadata = self._tenants.collection_of(collection.tenant_id)
            return self._charge(payment, metadata)
        status = self._provider.status(payment.provider_payment_id)
        if status.state is ProviderState.HELD:
            return self._clear_action(collection)  # waits for its webhook by contract (the fake)
        types = {
            ProviderState.SUCCEEDED: EventType.PAYMENT_SUCCEEDED,
            ProviderState.FAILED: EventType.PAYMENT_FAILED,
            ProviderState.REQUIRES_ACTION: EventType.PAYMENT_REQUIRES_ACTION,
            ProviderState.PENDING: EventType.PAYMENT_FAILED,
        }
        reason = status.failure_reason
        if status.state is ProviderState.PENDING:
            reason = "No outcome from the payment provider within 12 hours"
        event = outcome(
            self._provider.name,
            payment.provider_payment_id,
            types[status.state],
            amount=payment.amount,
            currency=payment.currency,
            failure_reason=reason,
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            source="janitor",
        )
        logger.info("janitor decided a pending payment", payment_id=payment.id, state=status.state)
        return self._intake.store([event])

    def _clear_action(self, collection: Collection) -> list[EventKey]:
        with suppress(Conflict):
            self._repo.apply(Change(collection=(collection, dunning.waiting(collection))))
        return []
