"""Billing (SPEC §7): generating invoices by hand, the invoice state machine, and settling a
subscription's due billing steps for the scheduled run (ADR 0041–0043).

Rules only: storage is a port (the repositories), time is a `Clock` (the business clock), and the
run's time is passed in. Every write is one conditional transaction; on a conflict the service
re-reads what moved and tries again, so concurrent runs, workers and users never bill twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from meterplex.billing import events
from meterplex.billing.invoicing import Span, draft_invoice, plan_reads
from meterplex.billing.models import (
    Action,
    Invoice,
    InvoiceSource,
    InvoiceStatus,
    finalized,
    invoice_number,
    paid,
    transition_target,
    voided,
)
from meterplex.billing.repository import CommitConflict, Numbering, Settlement
from meterplex.billing.usage_billed import UsageBilledState
from meterplex.entitlements.counters import Counter
from meterplex.periods import billing_period_at
from meterplex.platform import audit, business_metrics
from meterplex.platform.audit import Actor
from meterplex.platform.clock import Clock, business_clock
from meterplex.platform.errors import Conflict, ErrorKind, MeterplexError, NotFound
from meterplex.platform.events import DomainEvent
from meterplex.platform.ids import new_id
from meterplex.platform.observability import logger
from meterplex.platform.pagination import Key
from meterplex.subscriptions import events as subscription_events
from meterplex.subscriptions.models import BillingStep, StepKind, Subscription, next_billing_step, settled
from meterplex.subscriptions.repository import DueSubscription

MAX_ATTEMPTS = 200  # per write: number conflicts under a burst of concurrent finalizations
MAX_STEPS = 120  # billing steps settled per message (ten years of monthly periods behind)
ONE_MICROSECOND = timedelta(microseconds=1)


class Busy(MeterplexError):
    kind = ErrorKind.UNAVAILABLE
    default_code = "BILLING_BUSY"


class InvoiceStore(Protocol):
    def invoice(self, tenant_id: str, invoice_id: str) -> Invoice | None: ...
    def invoices(self, tenant_id: str, start: Key | None, limit: int) -> tuple[list[Invoice], Key | None]: ...
    def usage_billed(self, tenant_id: str) -> UsageBilledState: ...
    def claimed(self, tenant_id: str, subscription_id: str, period_start: datetime) -> str | None: ...
    def last_number(self, year: int) -> int: ...
    def create(
        self,
        invoice: Invoice,
        *,
        claim_start: datetime,
        state_before: UsageBilledState,
        state_after: UsageBilledState,
        events: Sequence[DomainEvent],
        numbering: Numbering | None = None,
        settlement: Settlement | None = None,
    ) -> None: ...
    def transition(
        self,
        before: Invoice,
        after: Invoice,
        events: Sequence[DomainEvent],
        numbering: Numbering | None = None,
    ) -> None: ...
    def settle(self, settlement: Settlement) -> None: ...


class SubscriptionReader(Protocol):
    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None: ...
    def history(self, tenant_id: str) -> list[Subscription]: ...
    def due(self, as_of: datetime) -> Iterator[DueSubscription]: ...


class CounterReader(Protocol):
    def used(self, counters: list[Counter]) -> dict[Counter, int]: ...


class NumberCache:
    """The last invoice number known per year, so a finalization rarely reads the counter first.
    A stale value only costs a cancelled transaction, which reports the current one."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self._lock = threading.Lock()

    def get(self, year: int, read: Callable[[int], int]) -> int:
        with self._lock:
            known = self._last.get(year)
        return read(year) if known is None else known

    def took(self, year: int, number: int) -> None:
        """This process just took `number`."""
        with self._lock:
            self._last[year] = max(number, self._last.get(year, 0))

    def forget(self) -> None:
        with self._lock:
            self._last.clear()

    def found(self, year: int, last: int) -> None:
        """A cancelled transaction reported the counter's current value: the truth."""
        with self._lock:
            self._last[year] = last


NUMBERS = NumberCache()


def invoice_not_found(invoice_id: str) -> NotFound:
    return NotFound(f"Invoice {invoice_id} not found", code="INVOICE_NOT_FOUND")


def already_invoiced(invoice_id: str) -> Conflict:
    return Conflict(
        f"This subscription's period is already invoiced: {invoice_id}",
        code="INVOICE_ALREADY_EXISTS",
        extra={"invoiceId": invoice_id},
    )


def nothing_to_invoice(reason: str) -> Conflict:
    return Conflict(reason, code="NOTHING_TO_INVOICE")


def _step_event(step: BillingStep, sub: Subscription) -> str | None:
    if step.terminal:
        return subscription_events.ENDED if sub.cancel_at_period_end else None
    return subscription_events.ACTIVATED if step.kind is StepKind.TRIAL else subscription_events.RENEWED


@dataclass(frozen=True)
class Settled:
    """What settling a subscription did: the invoices it created, the steps it settled."""

    invoices: list[Invoice]
    steps: int


class BillingService:
    def __init__(
        self,
        invoices: InvoiceStore,
        subscriptions: SubscriptionReader,
        counters: CounterReader,
        *,
        late_window: timedelta,
        clock: Clock = business_clock,
        numbers: NumberCache = NUMBERS,
    ) -> None:
        self._store = invoices
        self._subscriptions = subscriptions
        self._counters = counters
        self._late_window = late_window
        self._clock = clock
        self._numbers = numbers

    def on_clock(self, clock: Clock) -> BillingService:
        """The same service reading time from `clock` (demo history, benchmarks)."""
        return BillingService(
            self._store,
            self._subscriptions,
            self._counters,
            late_window=self._late_window,
            clock=clock,
            numbers=self._numbers,
        )

    # -- reads -------------------------------------------------------------------------------
    def invoice(self, tenant_id: str, invoice_id: str) -> Invoice:
        invoice = self._store.invoice(tenant_id, invoice_id)
        if invoice is None:
            raise invoice_not_found(invoice_id)
        return invoice

    def invoices(self, tenant_id: str, start: Key | None, limit: int) -> tuple[list[Invoice], Key | None]:
        return self._store.invoices(tenant_id, start, limit)

    # -- POST /invoices/generate ---------------------------------------------------------------
    def generate(
        self, tenant_id: str, subscription_id: str | None = None, *, actor: Actor = audit.SYSTEM
    ) -> Invoice:
        """A DRAFT invoice of the subscription's current span (full), or of its final span
        (prorated) once it was cancelled; idempotent per (subscription, period): 409 with the id."""
        now = self._clock.now()
        sub, span = self._what_to_generate(tenant_id, subscription_id, now)
        for _ in range(MAX_ATTEMPTS):
            state = self._store.usage_billed(tenant_id)
            invoice, after = self._draft(sub, span, state, source=InvoiceSource.MANUAL, at=now)
            try:
                self._store.create(
                    invoice,
                    claim_start=span.period_start,
                    state_before=state,
                    state_after=after,
                    events=[
                        events.invoice_event(events.CREATED, invoice, now, actor=actor.id),
                        events.invoice_audit(events.CREATED, actor, None, invoice),
                    ],
                )
            except CommitConflict as conflict:
                if conflict.claimed_by:
                    raise already_invoiced(conflict.claimed_by) from conflict
                continue  # the watermarks moved (another invoice of the tenant): draft again
            logger.info("invoice generated", tenant_id=tenant_id, invoice_id=invoice.id, total=invoice.total)
            return invoice
        raise Busy("The tenant's billing is busy; retry")

    def _what_to_generate(
        self, tenant_id: str, subscription_id: str | None, now: datetime
    ) -> tuple[Subscription, Span]:
        if subscription_id is not None:
            sub = self._subscriptions.get(tenant_id, subscription_id)
            if sub is None:
                raise NotFound(f"Subscription {subscription_id} not found", code="SUBSCRIPTION_NOT_FOUND")
            span = self._span_at(sub, now)
            if span is None:
                raise nothing_to_invoice("The subscription is in its free trial: there is nothing to invoice")
            return sub, span
        history = sorted(self._subscriptions.history(tenant_id), key=lambda s: s.created_at, reverse=True)
        # First a cancelled subscription whose final span is not invoiced yet (prorated), else the live one.
        for sub in history:
            if sub.ended_at is None or sub.ended_at > now or next_billing_step(sub) is None:
                continue
            span = self._span_at(sub, now)
            if span is not None and self._store.claimed(tenant_id, sub.id, span.period_start) is None:
                return sub, span
        live = next((s for s in history if s.is_live and (s.ended_at is None or s.ended_at > now)), None)
        if live is None:
            raise NotFound("The tenant has no subscription to invoice", code="NO_ACTIVE_SUBSCRIPTION")
        span = self._span_at(live, now)
        if span is None:
            raise nothing_to_invoice(
                "The subscription is in its free trial: the first invoice comes when it ends"
            )
        return live, span

    @staticmethod
    def _span_at(sub: Subscription, now: datetime) -> Span | None:
        """The span `generate` bills: the period containing now, or the last one once it ended
        (cut short by a cancellation); None inside the free trial."""
        at = now if sub.ended_at is None or sub.ended_at > now else sub.ended_at - ONE_MICROSECOND
        if sub.trial_ends_at is not None and at < sub.trial_ends_at:
            return None
        start, end = billing_period_at(sub.interval.value, sub.started_at, sub.trial_ends_at, at)
        until = sub.ended_at if sub.ended_at is not None and sub.ended_at < end else end
        return Span(start, end, until)

    def _draft(
        self, sub: Subscription, span: Span, state: UsageBilledState, *, source: InvoiceSource, at: datetime
    ) -> tuple[Invoice, UsageBilledState]:
        plan = plan_reads(sub, span, state)
        counted = self._counters.used(plan.counters(sub.tenant_id))
        return draft_invoice(
            sub,
            span,
            plan,
            counted,
            state,
            invoice_id=new_id(),
            at=at,
            source=source,
            late_window=self._late_window,
        )

    # -- the state machine -----------------------------------------------------------------------
    def finalize(self, tenant_id: str, invoice_id: str, *, actor: Actor = audit.SYSTEM) -> Invoice:
        return self._transition(tenant_id, invoice_id, Action.FINALIZE, actor)

    def mark_paid(self, tenant_id: str, invoice_id: str, *, actor: Actor = audit.SYSTEM) -> Invoice:
        return self._transition(tenant_id, invoice_id, Action.MARK_PAID, actor)

    def void(self, tenant_id: str, invoice_id: str, *, actor: Actor = audit.SYSTEM) -> Invoice:
        return self._transition(tenant_id, invoice_id, Action.VOID, actor)

    def _transition(self, tenant_id: str, invoice_id: str, action: Action, actor: Actor) -> Invoice:
        invoice = self.invoice(tenant_id, invoice_id)
        for attempt in range(MAX_ATTEMPTS):
            transition_target(invoice, action)  # 409 INVALID_TRANSITION
            now = self._clock.now()
            numbering = None
            if action is Action.FINALIZE:
                last = self._numbers.get(now.year, self._store.last_number)
                numbering = Numbering(now.year, last)
                after = finalized(invoice, now, invoice_number(now.year, last + 1))
                type_ = events.FINALIZED
            elif action is Action.MARK_PAID:
                after, type_ = paid(invoice, now), events.PAID
            else:
                after, type_ = voided(invoice, now), events.VOIDED
            event = events.invoice_event(type_, after, now, previous=invoice.status, actor=actor.id)
            record = events.invoice_audit(type_, actor, invoice, after)
            try:
                self._store.transition(invoice, after, [event, record], numbering)
            except CommitConflict as conflict:
                if conflict.number_last is not None:
                    self._numbers.found(now.year, conflict.number_last)
                    _back_off(attempt)
                if conflict.invoice or conflict.other:
                    invoice = self.invoice(tenant_id, invoice_id)  # moved meanwhile: judge again
                continue
            if numbering is not None:
                self._numbers.took(numbering.year, numbering.expected_last + 1)
            if action is Action.FINALIZE:
                business_metrics.count(business_metrics.INVOICES_FINALIZED)
            logger.info(
                "invoice " + action.value, tenant_id=tenant_id, invoice_id=invoice_id, status=after.status
            )
            return after
        raise Busy("Invoices are being finalized faster than numbers can be given; retry")

    # -- the scheduled run ---------------------------------------------------------------------
    def settle(self, tenant_id: str, subscription_id: str, as_of: datetime) -> Settled:
        """Settle every billing step of the subscription due at or before `as_of`, oldest first:
        each FULL/FINAL step is invoiced, finalized (numbered, dated `as_of`) and the subscription
        advanced in ONE transaction; a trial's end, or a period invoiced by hand, only advances."""
        sub = self._subscriptions.get(tenant_id, subscription_id)
        created: list[Invoice] = []
        steps = 0
        state: UsageBilledState | None = None
        for attempt in range(MAX_ATTEMPTS):
            step = next_billing_step(sub) if sub is not None else None
            if sub is None or step is None or step.due_at > as_of or steps >= MAX_STEPS:
                return Settled(created, steps)
            after = settled(sub, step, as_of)
            settlement = Settlement(sub, after, _step_event(step, sub))
            try:
                if not step.billable:
                    self._store.settle(settlement)
                else:
                    state = state or self._store.usage_billed(tenant_id)
                    invoice, state = self._invoice_step(sub, step, state, settlement, as_of)
                    created.append(invoice)
            except CommitConflict as conflict:
                if conflict.number_last is not None:
                    self._numbers.found(as_of.year, conflict.number_last)
                    _back_off(attempt)
                if conflict.claimed_by:  # invoiced by hand meanwhile or before: only advance
                    try:
                        self._store.settle(settlement)
                    except CommitConflict:
                        sub = self._subscriptions.get(tenant_id, subscription_id)
                        continue
                elif conflict.subscription or conflict.usage_billed or conflict.other:
                    sub, state = self._subscriptions.get(tenant_id, subscription_id), None
                    continue
                else:
                    continue  # only the number moved: same step, next number
            sub, steps = after, steps + 1
        raise Busy(f"Subscription {subscription_id} kept conflicting; the message will be retried")

    def _invoice_step(
        self,
        sub: Subscription,
        step: BillingStep,
        state: UsageBilledState,
        settlement: Settlement,
        as_of: datetime,
    ) -> tuple[Invoice, UsageBilledState]:
        span = Span(step.period_start, step.period_end, step.bills_until)
        draft, after_state = self._draft(sub, span, state, source=InvoiceSource.SCHEDULED, at=as_of)
        last = self._numbers.get(as_of.year, self._store.last_number)
        invoice = finalized(draft, as_of, invoice_number(as_of.year, last + 1))
        self._store.create(
            invoice,
            claim_start=span.period_start,
            state_before=state,
            state_after=after_state,
            events=[
                events.invoice_event(events.CREATED, invoice, as_of),
                events.invoice_event(events.FINALIZED, invoice, as_of, previous=InvoiceStatus.DRAFT),
            ],
            numbering=Numbering(as_of.year, last),
            settlement=settlement,
        )
        self._numbers.took(as_of.year, last + 1)
        business_metrics.count(business_metrics.INVOICES_FINALIZED)  # created FINALIZED
        logger.info(
            "invoice issued",
            tenant_id=sub.tenant_id,
            subscription_id=sub.id,
            invoice_id=invoice.id,
            invoice_number=invoice.invoice_number,
            total=invoice.total,
        )
        return invoice, after_state

    def due(self, as_of: datetime) -> Iterator[DueSubscription]:
        return self._subscriptions.due(as_of)


def _back_off(attempt: int) -> None:
    """Concurrent finalizations all want the year's next number: spread their retries a little."""
    if attempt >= 1:
        time.sleep(random.uniform(0, min(0.1, 0.005 * attempt)))  # noqa: S311 - jitter, not a secret
