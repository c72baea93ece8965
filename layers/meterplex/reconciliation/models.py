"""Reconciliation's domain types (ADR 0095), pure: runs, the issues they find, their states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    USAGE_NOT_COUNTED = "USAGE_NOT_COUNTED"  # accepted, in no counter: re-driven by the run
    COUNTER_INGESTED_MISMATCH = "COUNTER_INGESTED_MISMATCH"  # Σ accepted events ≠ the counter's `ingested`
    COUNTER_USED_MISMATCH = "COUNTER_USED_MISMATCH"  # `used` ≠ `consumed + ingested`
    INVOICE_LINE_COUNTER_MISMATCH = "INVOICE_LINE_COUNTER_MISMATCH"  # a line billed more than was counted
    INVOICE_LINE_WATERMARK_GAP = "INVOICE_LINE_WATERMARK_GAP"  # billed twice, or units never billed
    INVOICE_LINE_INCONSISTENT = "INVOICE_LINE_INCONSISTENT"  # quantity ≠ Σ the units it says it billed
    LEDGER_ENTRY_MISSING = "LEDGER_ENTRY_MISSING"
    LEDGER_ENTRY_DUPLICATE = "LEDGER_ENTRY_DUPLICATE"
    LEDGER_ENTRY_AMOUNT = "LEDGER_ENTRY_AMOUNT"  # the entry's amount is not the invoice's total
    LEDGER_ENTRY_UNEXPECTED = "LEDGER_ENTRY_UNEXPECTED"  # no invoice (in that state) explains it
    LEDGER_BALANCE_MISMATCH = "LEDGER_BALANCE_MISMATCH"  # Σ entries ≠ the balance
    PAYMENT_NOT_RECORDED = "PAYMENT_NOT_RECORDED"  # collected, but its invoice is not PAID (no PAYMENT)
    PAYMENT_COLLECTED_TWICE = "PAYMENT_COLLECTED_TWICE"  # two collected attempts of one invoice: refund one


class IssueStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class Trigger(StrEnum):
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"


# What each operator action leads to, from which statuses.
ISSUE_TRANSITIONS: dict[str, tuple[frozenset[IssueStatus], IssueStatus]] = {
    "acknowledge": (frozenset({IssueStatus.OPEN}), IssueStatus.ACKNOWLEDGED),
    "resolve": (frozenset({IssueStatus.OPEN, IssueStatus.ACKNOWLEDGED}), IssueStatus.RESOLVED),
}


@dataclass(frozen=True)
class Finding:
    """One difference a check found (pure; the run makes it an issue)."""

    category: Category
    tenant_id: str
    message: str
    ids: dict[str, list[str]] = field(default_factory=dict)  # eventIds, invoiceIds, entryIds, counter…
    expected: int | None = None
    actual: int | None = None
    resolved: bool = False  # fixed by the run itself (a re-drive)


@dataclass(frozen=True)
class Issue:
    id: str
    run_id: str
    tenant_id: str
    category: Category
    status: IssueStatus
    message: str
    ids: dict[str, list[str]]
    expected: int | None
    actual: int | None
    created_at: datetime
    updated_at: datetime
    notes: str | None = None


@dataclass
class RunStats:
    tenants: int = 0
    events_read: int = 0
    receipts_read: int = 0
    counters_checked: int = 0
    invoices_checked: int = 0
    ledger_entries_checked: int = 0
    events_redriven: int = 0
    units_redriven: int = 0
    read_units: float = 0.0  # DynamoDB read request units the usage Scan cost
    issues: int = 0
    open_issues: int = 0  # what the alarm watches: issues the run could not resolve itself
    by_category: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    id: str
    trigger: Trigger
    status: RunStatus
    started_at: datetime
    tenant_id: str | None = None  # None: every tenant
    finished_at: datetime | None = None
    stats: RunStats = field(default_factory=RunStats)
    error: str | None = None
