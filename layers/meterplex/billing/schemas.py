"""Billing API schemas (SPEC §7) and the mapping from the domain types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meterplex.billing.ledger import Balance, EntryType, LedgerEntry
from meterplex.billing.models import Invoice, InvoiceKind, InvoiceSource, InvoiceStatus, LineItem, LineKind
from meterplex.catalog.schemas import Timestamp
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.pagination import CursorMeta


class GenerateRequest(ApiModel):
    subscription_id: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None,
        description="Which subscription; omitted: a cancelled one's final invoice first, else the live one",
    )


class UsageBilledOut(ApiResponse):
    subscription_id: str
    feature: str
    window_start: str
    window_end: str
    counted: int = Field(description="Units counted when the invoice read the counter (its watermark)")
    previously_counted: int = Field(
        description="The watermark of the invoice that billed it before (0: none)"
    )
    units: int = Field(description="Billable units this line billed of it")


class LineItemOut(ApiResponse):
    description: str
    feature_lookup_key: str | None
    quantity: int
    unit_price_micro_cents: int = Field(description="Hundredths of a cent per unit (a base fee: cents × 100)")
    amount: int = Field(description="Cents")
    sort_order: int
    kind: LineKind
    usage: list[UsageBilledOut] = Field(description="What the line billed, per usage counter")


class InvoiceOut(ApiResponse):
    id: str
    tenant_id: str
    subscription_id: str
    invoice_number: str | None = Field(description="INV-YYYY-NNNN, given at finalize; null while DRAFT")
    status: InvoiceStatus
    kind: InvoiceKind
    source: InvoiceSource
    currency: str
    subtotal: int
    total: int
    period_start: Timestamp
    period_end: Timestamp
    due_date: Timestamp | None
    finalized_at: Timestamp | None
    paid_at: Timestamp | None
    voided_at: Timestamp | None
    notes: str | None
    created_at: Timestamp
    line_items: list[LineItemOut]


class InvoicePage(ApiResponse):
    data: list[InvoiceOut]
    meta: CursorMeta


class LineItemsOut(ApiResponse):
    data: list[LineItemOut]


class LedgerEntryOut(ApiResponse):
    id: str
    type: EntryType
    description: str
    debit: int
    credit: int
    currency: str
    invoice_id: str | None
    invoice_number: str | None
    created_at: Timestamp


class LedgerPage(ApiResponse):
    data: list[LedgerEntryOut]
    meta: CursorMeta


class CurrencyBalanceOut(ApiResponse):
    currency: str
    balance: int = Field(description="Σ debit − Σ credit, cents")
    total_charged: int
    total_paid: int


class BalanceOut(ApiResponse):
    tenant_id: str
    balances: list[CurrencyBalanceOut]
    as_of: Timestamp


def line_out(line: LineItem) -> LineItemOut:
    return LineItemOut(
        description=line.description,
        feature_lookup_key=line.feature_lookup_key,
        quantity=line.quantity,
        unit_price_micro_cents=line.unit_price_micro_cents,
        amount=line.amount,
        sort_order=line.sort_order,
        kind=line.kind,
        usage=[
            UsageBilledOut(
                subscription_id=u.subscription_id,
                feature=u.feature,
                window_start=u.window_start,
                window_end=u.window_end,
                counted=u.counted,
                previously_counted=u.previously_counted,
                units=u.units,
            )
            for u in line.usage
        ],
    )


def invoice_out(invoice: Invoice) -> InvoiceOut:
    return InvoiceOut(
        id=invoice.id,
        tenant_id=invoice.tenant_id,
        subscription_id=invoice.subscription_id,
        invoice_number=invoice.invoice_number,
        status=invoice.status,
        kind=invoice.kind,
        source=invoice.source,
        currency=invoice.currency,
        subtotal=invoice.subtotal,
        total=invoice.total,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        due_date=invoice.due_date,
        finalized_at=invoice.finalized_at,
        paid_at=invoice.paid_at,
        voided_at=invoice.voided_at,
        notes=invoice.notes,
        created_at=invoice.created_at,
        line_items=[line_out(line) for line in sorted(invoice.line_items, key=lambda line: line.sort_order)],
    )


def entry_out(entry: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        type=entry.type,
        description=entry.description,
        debit=entry.debit,
        credit=entry.credit,
        currency=entry.currency,
        invoice_id=entry.invoice_id,
        invoice_number=entry.invoice_number,
        created_at=entry.created_at,
    )


def balance_out(balance: Balance) -> CurrencyBalanceOut:
    return CurrencyBalanceOut(
        currency=balance.currency,
        balance=balance.balance,
        total_charged=balance.charged,
        total_paid=balance.paid,
    )
