"""Invoice domain types and the invoice state machine (SPEC §7), pure: no AWS imports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from meterplex.platform.errors import Conflict

PAYMENT_TERMS = timedelta(days=30)  # due date = finalized + 30 days (SPEC §7)


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    FINALIZED = "FINALIZED"
    PAID = "PAID"
    VOID = "VOID"


class InvoiceKind(StrEnum):
    FULL = "FULL"  # a whole period
    PRORATED = "PRORATED"  # the final period of an immediate cancel or a plan change


class InvoiceSource(StrEnum):
    SCHEDULED = "SCHEDULED"  # the billing run (created finalized)
    MANUAL = "MANUAL"  # POST /invoices/generate (created DRAFT)


class LineKind(StrEnum):
    BASE_FEE = "BASE_FEE"
    USAGE = "USAGE"
    LATE_USAGE = "LATE_USAGE"


class Action(StrEnum):
    FINALIZE = "finalize"
    MARK_PAID = "mark-paid"
    VOID = "void"


# The state machine: action → (statuses it applies to, the status it leads to).
TRANSITIONS: dict[Action, tuple[frozenset[InvoiceStatus], InvoiceStatus]] = {
    Action.FINALIZE: (frozenset({InvoiceStatus.DRAFT}), InvoiceStatus.FINALIZED),
    Action.MARK_PAID: (frozenset({InvoiceStatus.FINALIZED}), InvoiceStatus.PAID),
    Action.VOID: (frozenset({InvoiceStatus.DRAFT, InvoiceStatus.FINALIZED}), InvoiceStatus.VOID),
}


@dataclass(frozen=True)
class UsageBilled:
    """What a line billed of one usage counter: the watermark of what was counted (ADR 0042)."""

    subscription_id: str
    feature: str
    window_start: str
    window_end: str
    counted: int  # units counted when the invoice read the counter (the watermark)
    previously_counted: int  # the watermark of the invoice that billed it before (0: none)
    units: int  # billable units this line billed of it (overage, for today's prices)


@dataclass(frozen=True)
class LineItem:
    kind: LineKind
    description: str
    feature_lookup_key: str | None
    quantity: int
    unit_price_micro_cents: int  # hundredths of a cent (a base fee: cents × 100)
    amount: int  # cents
    sort_order: int
    usage: tuple[UsageBilled, ...] = ()


@dataclass(frozen=True)
class Invoice:
    id: str
    tenant_id: str
    subscription_id: str
    status: InvoiceStatus
    kind: InvoiceKind
    source: InvoiceSource
    currency: str
    period_start: datetime
    period_end: datetime
    created_at: datetime
    line_items: tuple[LineItem, ...] = field(default_factory=tuple)
    invoice_number: str | None = None
    due_date: datetime | None = None
    finalized_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    notes: str | None = None

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.line_items)

    @property
    def total(self) -> int:
        return self.subtotal  # no taxes or discounts yet


def invalid_transition(invoice: Invoice, action: Action) -> Conflict:
    return Conflict(
        f"Invoice {invoice.id} is {invoice.status.value}: it cannot be {action.value.replace('-', ' ')}",
        code="INVALID_TRANSITION",
    )


def transition_target(invoice: Invoice, action: Action) -> InvoiceStatus:
    """The status `action` leads to from the invoice's; 409 INVALID_TRANSITION if it has none."""
    sources, target = TRANSITIONS[action]
    if invoice.status not in sources:
        raise invalid_transition(invoice, action)
    return target


def invoice_number(year: int, sequence: int) -> str:
    """`INV-2026-0001`: four digits at least, more when a year needs them."""
    return f"INV-{year:04d}-{sequence:04d}"


def finalized(invoice: Invoice, at: datetime, number: str) -> Invoice:
    transition_target(invoice, Action.FINALIZE)
    return replace(
        invoice,
        status=InvoiceStatus.FINALIZED,
        invoice_number=number,
        finalized_at=at,
        due_date=at + PAYMENT_TERMS,
    )


def paid(invoice: Invoice, at: datetime) -> Invoice:
    transition_target(invoice, Action.MARK_PAID)
    return replace(invoice, status=InvoiceStatus.PAID, paid_at=at)


def voided(invoice: Invoice, at: datetime) -> Invoice:
    transition_target(invoice, Action.VOID)
    return replace(invoice, status=InvoiceStatus.VOID, voided_at=at)
