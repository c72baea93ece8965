"""The reconciliation checks, pure (ADR 0095): each kind of difference has its category."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from meterplex.billing.ledger import Balance, EntryType, LedgerEntry, entry_id
from meterplex.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceSource,
    InvoiceStatus,
    LineItem,
    LineKind,
    UsageBilled,
)
from meterplex.entitlements.counters import Counter, CounterReading
from meterplex.payments.models import Payment, PaymentStatus
from meterplex.reconciliation.checks import invoice_findings, ledger_findings, payment_findings, uncounted
from meterplex.reconciliation.models import Category
from meterplex.usage.counters import Receipt
from meterplex.usage.models import UsageRecord

T = "tenant-1"
AT = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = "2026-11-01T00:00:00.000Z"


def usage(counted: int, previously: int, units: int) -> UsageBilled:
    return UsageBilled("sub-1", "calls", WINDOW, "2026-12-01T00:00:00.000Z", counted, previously, units)


def invoice(number: int, *usages: UsageBilled, quantity: int | None = None, **changes: object) -> Invoice:
    line = LineItem(
        LineKind.USAGE,
        "calls",
        "calls",
        sum(u.units for u in usages) if quantity is None else quantity,
        10,
        0,
        1,
        usage=usages,
    )
    base = Invoice(
        id=f"inv-{number}",
        tenant_id=T,
        subscription_id="sub-1",
        status=InvoiceStatus.FINALIZED,
        kind=InvoiceKind.FULL,
        source=InvoiceSource.SCHEDULED,
        currency="usd",
        period_start=AT,
        period_end=AT + timedelta(days=30),
        created_at=AT + timedelta(days=number),
        line_items=(line,),
        invoice_number=f"INV-2026-{number:04d}",
        finalized_at=AT + timedelta(days=number),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def charge(inv: Invoice, amount: int | None = None, entry: str | None = None) -> LedgerEntry:
    return LedgerEntry(
        id=entry or entry_id(inv.id, EntryType.CHARGE),
        tenant_id=T,
        type=EntryType.CHARGE,
        description="",
        debit=inv.total if amount is None else amount,
        credit=0,
        currency="usd",
        invoice_id=inv.id,
        invoice_number=inv.invoice_number,
        created_at=inv.finalized_at or AT,
    )


def test_an_event_is_uncounted_until_its_bit_is_in_its_receipt() -> None:
    record = UsageRecord(
        T, "e-1", "calls", 3, WINDOW, "sub-1", WINDOW, "x", WINDOW, request_id="r", request_index=9
    )
    assert list(uncounted([record], {})) == [record.counter]
    counted = Receipt("r").with_events([record])
    assert uncounted([record], {(record.counter, "r"): counted}) == {}


def test_watermarks_that_do_not_chain_are_a_gap_and_a_wrong_quantity_is_inconsistent() -> None:
    counter = Counter(T, "calls", "sub-1", WINDOW)
    readings = {counter: CounterReading(used=100, consumed=0, ingested=100)}
    chained = [invoice(1, usage(60, 0, 60)), invoice(2, usage(100, 60, 40))]
    assert invoice_findings(T, chained, readings) == []
    billed_twice = [invoice(1, usage(60, 0, 60)), invoice(2, usage(100, 0, 100))]
    (gap,) = invoice_findings(T, billed_twice, readings)
    assert gap.category is Category.INVOICE_LINE_WATERMARK_GAP and (gap.expected, gap.actual) == (60, 0)
    (wrong,) = invoice_findings(T, [invoice(1, usage(60, 0, 60), quantity=61)], readings)
    assert wrong.category is Category.INVOICE_LINE_INCONSISTENT


def test_ledger_amounts_unexplained_entries_and_work_in_flight() -> None:
    inv = invoice(1, usage(60, 0, 60))
    balances = [Balance("usd", debit=inv.total)]
    assert ledger_findings(T, [inv], [charge(inv)], balances, settled_before=AT + timedelta(days=9)) == []
    wrong = ledger_findings(
        T,
        [inv],
        [charge(inv, amount=inv.total + 1)],
        [Balance("usd", debit=inv.total + 1)],
        settled_before=AT + timedelta(days=9),
    )
    assert [f.category for f in wrong] == [Category.LEDGER_ENTRY_AMOUNT]
    draft = replace(inv, status=InvoiceStatus.DRAFT, finalized_at=None, invoice_number=None)
    unexpected = ledger_findings(T, [draft], [charge(inv)], balances, settled_before=AT + timedelta(days=9))
    assert [f.category for f in unexpected] == [Category.LEDGER_ENTRY_UNEXPECTED]
    # a CHARGE not yet written is in flight until the settle time has passed, then missing
    assert ledger_findings(T, [inv], [], [], settled_before=AT) == []
    (missing,) = ledger_findings(T, [inv], [], [], settled_before=AT + timedelta(days=9))
    assert missing.category is Category.LEDGER_ENTRY_MISSING


def payment(number: int, invoice_id: str, status: PaymentStatus = PaymentStatus.SUCCEEDED) -> Payment:
    return Payment(
        id=f"pay-{number}",
        tenant_id=T,
        invoice_id=invoice_id,
        invoice_number=None,
        provider="fake",
        attempt_number=number,
        amount=100,
        currency="usd",
        status=status,
        created_at=AT,
        updated_at=AT,
    )


def test_a_collected_payment_makes_its_invoice_paid_once() -> None:
    paid = invoice(1, usage(60, 0, 60), status=InvoiceStatus.PAID, paid_at=AT)
    later = AT + timedelta(days=9)
    assert (
        payment_findings(
            T, [paid], [payment(1, paid.id), payment(2, paid.id, PaymentStatus.FAILED)], settled_before=later
        )
        == []
    )
    (twice,) = payment_findings(T, [paid], [payment(1, paid.id), payment(2, paid.id)], settled_before=later)
    assert twice.category is Category.PAYMENT_COLLECTED_TWICE and twice.ids["paymentIds"] == [
        "pay-1",
        "pay-2",
    ]
    open_invoice = invoice(2, usage(60, 0, 60))
    (unrecorded,) = payment_findings(T, [open_invoice], [payment(3, open_invoice.id)], settled_before=later)
    assert unrecorded.category is Category.PAYMENT_NOT_RECORDED
    assert (
        payment_findings(T, [open_invoice], [payment(3, open_invoice.id)], settled_before=AT - timedelta(1))
        == []
    )
