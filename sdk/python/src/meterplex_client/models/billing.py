"""Invoices, ledger, balance and payments (SPEC §7, §8.2). Money is integer cents."""

from __future__ import annotations

from datetime import datetime

from meterplex_client.models.base import Body, Model


class UsageBilled(Model):
    """What a line billed of one usage counter (its watermark: reconciliation proves invoiced = counted)."""

    subscription_id: str
    feature: str
    window_start: str
    window_end: str
    counted: int
    previously_counted: int
    units: int


class LineItem(Model):
    description: str
    feature_lookup_key: str | None = None
    quantity: int
    unit_price_micro_cents: int
    amount: int
    sort_order: int
    kind: str  # BASE_FEE | USAGE | LATE_USAGE
    usage: list[UsageBilled] = []


class LineItems(Model):
    data: list[LineItem]


class Invoice(Model):
    id: str
    tenant_id: str
    subscription_id: str | None
    invoice_number: str | None
    status: str
    kind: str  # FULL | PRORATED
    source: str  # SCHEDULED | MANUAL
    currency: str
    subtotal: int
    total: int
    period_start: datetime
    period_end: datetime
    due_date: datetime | None = None
    finalized_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    notes: str | None = None
    created_at: datetime
    line_items: list[LineItem] = []


class GenerateInvoiceRequest(Body):
    subscription_id: str | None = None


class LedgerEntry(Model):
    id: str | None = None
    type: str
    description: str
    debit: int
    credit: int
    currency: str
    invoice_id: str | None = None
    invoice_number: str | None = None
    created_at: datetime


class CurrencyBalance(Model):
    currency: str
    balance: int
    total_charged: int
    total_paid: int


class Balance(Model):
    tenant_id: str
    balances: list[CurrencyBalance]
    as_of: datetime


class Payment(Model):
    id: str
    invoice_id: str
    invoice_number: str | None = None
    provider: str
    provider_payment_id: str | None = None
    status: str
    amount: int
    currency: str
    failure_reason: str | None = None
    attempt_number: int
    next_retry_at: datetime | None = None
    created_at: datetime


class Refund(Model):
    """`POST /invoices/{invoiceId}/refund` (201): PENDING until the provider's answer is processed."""

    id: str
    invoice_id: str
    payment_id: str
    amount: int
    currency: str
    status: str
    failure_reason: str | None = None
    created_at: datetime


class RefundRequest(Body):
    amount: int | None = None
