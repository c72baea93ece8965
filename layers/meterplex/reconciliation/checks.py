"""The comparisons a run makes (ADR 0095), pure: what was read in, findings out.

* usage: each accepted event has its bit in its counting receipt (else it was never counted);
  Σ a window's accepted events = its counter's `ingested`; `used = consumed + ingested`;
* invoice lines: what each line recorded it billed never exceeds its counter, the watermarks chain
  from one invoice to the next (nothing billed twice, nothing skipped), quantity = Σ billed units;
* ledger: one CHARGE per finalized invoice, one PAYMENT per paid one, one CREDIT per invoice voided
  after finalizing, nothing else per invoice, Σ entries = the balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from meterplex.billing.ledger import Balance, EntryType, LedgerEntry
from meterplex.billing.models import Invoice, InvoiceStatus
from meterplex.entitlements.counters import Counter, CounterReading
from meterplex.payments.models import Payment, PaymentStatus
from meterplex.reconciliation.models import Category, Finding
from meterplex.usage.counters import Receipt
from meterplex.usage.models import CounterKey, UsageRecord

ReceiptKey = tuple[CounterKey, str]  # (the counter, the receipt's request id)
INVOICE_ENTRIES = (EntryType.CHARGE, EntryType.PAYMENT, EntryType.CREDIT)


def counter_name(feature: str, subscription_id: str, window_start: str) -> str:
    return f"{feature}/{subscription_id}/{window_start}"


def counter_of(key: CounterKey) -> Counter:
    return Counter(key.tenant_id, key.feature, key.subscription_id, key.window_start)


# -- usage -----------------------------------------------------------------------------------------
def uncounted(
    events: Iterable[UsageRecord], receipts: Mapping[ReceiptKey, Receipt]
) -> dict[CounterKey, list[UsageRecord]]:
    """The accepted events whose receipt does not hold them, per counter."""
    missing: dict[CounterKey, list[UsageRecord]] = {}
    for event in events:
        request_id, index = event.receipt
        receipt = receipts.get((event.counter, request_id))
        if receipt is None or not receipt.has(index):
            missing.setdefault(event.counter, []).append(event)
    return missing


def redriven(key: CounterKey, counted: Sequence[UsageRecord]) -> Finding:
    """Events the run found uncounted and counted (resolved by the run itself)."""
    units = sum(e.amount for e in counted)
    return Finding(
        Category.USAGE_NOT_COUNTED,
        key.tenant_id,
        f"{len(counted)} accepted event(s) ({units} units) were in no counter: re-driven and counted once",
        ids={
            "counter": [counter_name(key.feature, key.subscription_id, key.window_start)],
            "eventIds": sorted(e.event_id for e in counted),
        },
        expected=units,
        actual=0,
        resolved=True,
    )


def counter_findings(
    key: CounterKey, events: Sequence[UsageRecord], reading: CounterReading
) -> list[Finding]:
    """A window's accepted events against its counter (after any re-drive)."""
    name = [counter_name(key.feature, key.subscription_id, key.window_start)]
    accepted = sum(e.amount for e in events)
    findings = []
    if reading.ingested != accepted:
        findings.append(
            Finding(
                Category.COUNTER_INGESTED_MISMATCH,
                key.tenant_id,
                f"the counter holds {reading.ingested} ingested units; its {len(events)} accepted "
                f"event(s) add up to {accepted}",
                ids={"counter": name},
                expected=accepted,
                actual=reading.ingested,
            )
        )
    if reading.used != reading.consumed + reading.ingested:
        findings.append(
            Finding(
                Category.COUNTER_USED_MISMATCH,
                key.tenant_id,
                f"the counter says {reading.used} used but its parts add up to "
                f"{reading.consumed} consumed + {reading.ingested} ingested",
                ids={"counter": name},
                expected=reading.consumed + reading.ingested,
                actual=reading.used,
            )
        )
    return findings


# -- invoice lines ---------------------------------------------------------------------------------
def invoice_findings(
    tenant_id: str, invoices: Sequence[Invoice], readings: Mapping[Counter, CounterReading]
) -> list[Finding]:
    """`invoices` oldest first; `readings`: the counters to hold the lines to (others unchecked)."""
    findings: list[Finding] = []
    billed: dict[tuple[str, str, str], int] = {}  # the watermark so far, per counter
    for invoice in invoices:
        for line in invoice.line_items:
            if not line.usage:
                continue
            units = sum(u.units for u in line.usage)
            if line.quantity != units:
                findings.append(
                    Finding(
                        Category.INVOICE_LINE_INCONSISTENT,
                        tenant_id,
                        f"invoice line {line.sort_order} bills {line.quantity} units but records {units}",
                        ids={"invoiceIds": [invoice.id]},
                        expected=units,
                        actual=line.quantity,
                    )
                )
            for usage in line.usage:
                key = (usage.subscription_id, usage.feature, usage.window_start)
                name = [counter_name(usage.feature, usage.subscription_id, usage.window_start)]
                before = billed.get(key, 0)
                if usage.previously_counted != min(before, usage.counted):
                    findings.append(
                        Finding(
                            Category.INVOICE_LINE_WATERMARK_GAP,
                            tenant_id,
                            f"invoice line {line.sort_order} billed from {usage.previously_counted} "
                            f"counted units; the invoices before it had billed up to {before}",
                            ids={"invoiceIds": [invoice.id], "counter": name},
                            expected=min(before, usage.counted),
                            actual=usage.previously_counted,
                        )
                    )
                billed[key] = max(before, usage.counted)
                reading = readings.get(
                    Counter(tenant_id, usage.feature, usage.subscription_id, usage.window_start)
                )
                if reading is not None and usage.counted > reading.used:
                    findings.append(
                        Finding(
                            Category.INVOICE_LINE_COUNTER_MISMATCH,
                            tenant_id,
                            f"invoice line {line.sort_order} recorded {usage.counted} counted units; "
                            f"the counter holds {reading.used}",
                            ids={"invoiceIds": [invoice.id], "counter": name},
                            expected=reading.used,
                            actual=usage.counted,
                        )
                    )
    return findings


# -- ledger ----------------------------------------------------------------------------------------
def _expected_entries(invoice: Invoice) -> list[tuple[EntryType, int, datetime]]:
    """(type, amount, when it became due) of every entry the invoice's history must have made."""
    expected = []
    if invoice.finalized_at is not None:
        expected.append((EntryType.CHARGE, invoice.total, invoice.finalized_at))
    if invoice.status is InvoiceStatus.PAID and invoice.paid_at is not None:
        expected.append((EntryType.PAYMENT, invoice.total, invoice.paid_at))
    if invoice.status is InvoiceStatus.VOID and invoice.finalized_at and invoice.voided_at:
        expected.append((EntryType.CREDIT, invoice.total, invoice.voided_at))
    return expected


def _amount(entry: LedgerEntry) -> int:
    return entry.debit if entry.type is EntryType.CHARGE else entry.credit


def ledger_findings(
    tenant_id: str,
    invoices: Sequence[Invoice],
    entries: Sequence[LedgerEntry],
    balances: Sequence[Balance],
    *,
    settled_before: datetime,
) -> list[Finding]:
    """Transitions after `settled_before` may still be on their way to the ledger: not required."""
    findings: list[Finding] = []
    by_invoice: dict[tuple[str, EntryType], list[LedgerEntry]] = {}
    for entry in entries:
        if entry.type in INVOICE_ENTRIES:
            by_invoice.setdefault((entry.invoice_id or "", entry.type), []).append(entry)
    explained: set[tuple[str, EntryType]] = set()
    for invoice in invoices:
        for type_, amount, at in _expected_entries(invoice):
            key = (invoice.id, type_)
            explained.add(key)
            found = by_invoice.get(key, [])
            ids = {"invoiceIds": [invoice.id], "entryIds": sorted({e.id for e in found})}
            if not found:
                if at <= settled_before:
                    findings.append(
                        Finding(
                            Category.LEDGER_ENTRY_MISSING,
                            tenant_id,
                            f"invoice {invoice.invoice_number or invoice.id} is {invoice.status.value} "
                            f"but the ledger has no {type_.value}",
                            ids=ids,
                            expected=amount,
                            actual=0,
                        )
                    )
            elif len(found) > 1:
                findings.append(
                    Finding(
                        Category.LEDGER_ENTRY_DUPLICATE,
                        tenant_id,
                        f"invoice {invoice.invoice_number or invoice.id} has "
                        f"{len(found)} {type_.value} entries",
                        ids={**ids, "entryIds": [e.id for e in found]},
                        expected=1,
                        actual=len(found),
                    )
                )
            elif _amount(found[0]) != amount:
                findings.append(
                    Finding(
                        Category.LEDGER_ENTRY_AMOUNT,
                        tenant_id,
                        f"the {type_.value} of invoice {invoice.invoice_number or invoice.id} is "
                        f"{_amount(found[0])}, the invoice's total {amount}",
                        ids=ids,
                        expected=amount,
                        actual=_amount(found[0]),
                    )
                )
    for key, found in sorted(by_invoice.items()):
        if key not in explained:
            findings.append(
                Finding(
                    Category.LEDGER_ENTRY_UNEXPECTED,
                    tenant_id,
                    f"{len(found)} {key[1].value} entr{'y' if len(found) == 1 else 'ies'} for invoice "
                    f"{key[0] or '(none)'}, which did not make one",
                    ids={"invoiceIds": [key[0]] if key[0] else [], "entryIds": [e.id for e in found]},
                )
            )
    findings += balance_findings(tenant_id, entries, balances)
    return findings


def balance_findings(
    tenant_id: str, entries: Sequence[LedgerEntry], balances: Sequence[Balance]
) -> list[Finding]:
    sums: dict[str, int] = {}
    for entry in entries:
        sums[entry.currency] = sums.get(entry.currency, 0) + entry.debit - entry.credit
    stored = {b.currency: b.balance for b in balances}
    return [
        Finding(
            Category.LEDGER_BALANCE_MISMATCH,
            tenant_id,
            f"the {currency} balance is {stored.get(currency, 0)}; "
            f"its entries add up to {sums.get(currency, 0)}",
            ids={"currency": [currency]},
            expected=sums.get(currency, 0),
            actual=stored.get(currency, 0),
        )
        for currency in sorted(set(sums) | set(stored))
        if sums.get(currency, 0) != stored.get(currency, 0)
    ]


# -- payments (ADR 0060) ---------------------------------------------------------------------------
COLLECTED = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})


def payment_findings(
    tenant_id: str, invoices: Sequence[Invoice], payments: Sequence[Payment], *, settled_before: datetime
) -> list[Finding]:
    """Every collected attempt made its invoice PAID (so the ledger has its PAYMENT), once."""
    status = {invoice.id: invoice.status for invoice in invoices}
    collected: dict[str, list[Payment]] = {}
    for payment in payments:
        if payment.status in COLLECTED:
            collected.setdefault(payment.invoice_id, []).append(payment)
    findings = []
    for invoice_id, found in sorted(collected.items()):
        ids = {"invoiceIds": [invoice_id], "paymentIds": sorted(p.id for p in found)}
        if len(found) > 1:
            findings.append(
                Finding(
                    Category.PAYMENT_COLLECTED_TWICE,
                    tenant_id,
                    f"{len(found)} payments collected invoice {invoice_id}: refund all but one",
                    ids=ids,
                    expected=1,
                    actual=len(found),
                )
            )
        settled = all(p.updated_at <= settled_before for p in found)
        if status.get(invoice_id) is not InvoiceStatus.PAID and settled:
            findings.append(
                Finding(
                    Category.PAYMENT_NOT_RECORDED,
                    tenant_id,
                    f"invoice {invoice_id} was collected but is {status.get(invoice_id, 'missing')}: "
                    "its ledger has no PAYMENT for it",
                    ids=ids,
                    expected=sum(p.amount for p in found),
                    actual=0,
                )
            )
    return findings
