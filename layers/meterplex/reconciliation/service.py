"""A reconciliation run (ADR 0095): read, re-drive what was never counted, compare, record.

Per tenant: the usage Scan's events against their counting receipts (uncounted events older than
the settle time are applied through the aggregator's own `CounterStore.apply`: its receipts make a
re-drive count each event once, whoever else counts it meanwhile); then each window's accepted
events against its counter, the invoice lines against the counters and each other, and the invoices
against the ledger and its balance. Every finding becomes an issue of the run.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from meterplex.billing.ledger import Balance, LedgerEntry
from meterplex.billing.models import Invoice
from meterplex.entitlements.counters import Counter, CounterReading
from meterplex.platform.clock import Clock, parse_iso
from meterplex.platform.ids import new_id
from meterplex.platform.observability import logger
from meterplex.reconciliation import checks
from meterplex.reconciliation.models import (
    Category,
    Finding,
    Issue,
    IssueStatus,
    Run,
    RunStats,
    RunStatus,
    Trigger,
)
from meterplex.reconciliation.usage_scan import UsageSnapshot
from meterplex.usage.models import CounterKey, UsageRecord

PAGE = 100


class Scan(Protocol):
    def read(self, tenant_id: str | None = None) -> UsageSnapshot: ...


class Counting(Protocol):
    def apply(self, key: CounterKey, records: Sequence[UsageRecord]) -> Any: ...


class Readings(Protocol):
    def readings(self, counters: Sequence[Counter]) -> dict[Counter, CounterReading]: ...


class Billing(Protocol):
    def invoices(self, tenant_id: str, start: Any, limit: int) -> tuple[list[Invoice], Any]: ...


class Ledger(Protocol):
    def statement(self, tenant_id: str) -> tuple[list[LedgerEntry], list[Balance]]:
        """Every entry and balance of the tenant (one Query: they share a partition)."""
        ...


class Payments(Protocol):
    def payments(self, tenant_id: str, start: Any, limit: int) -> tuple[list[Any], Any]: ...


class Store(Protocol):
    def save(self, run: Run) -> None: ...

    def add_issues(self, issues: Sequence[Issue]) -> None: ...


def _more_than_scanned(finding: Finding) -> bool:
    return (
        finding.category is Category.COUNTER_INGESTED_MISMATCH
        and finding.actual is not None
        and finding.expected is not None
        and finding.actual > finding.expected
    )


def read_all(fetch: Any, tenant_id: str) -> list[Any]:
    items: list[Any] = []
    start = None
    while True:
        page, start = fetch(tenant_id, start, PAGE)
        items += page
        if start is None:
            return items


@dataclass
class Reconciler:
    scan: Scan
    counting: Counting
    counters: Readings
    billing: Billing
    ledger: Ledger
    store: Store
    clock: Clock
    tenants_billing: Any  # () -> Iterable[str]: tenants with a subscription still billing
    late_window: timedelta
    settle: timedelta
    payments: Payments | None = None  # payment attempts (ADR 0060)

    def new_run(self, trigger: Trigger, tenant_id: str | None = None) -> Run:
        return Run(new_id(), trigger, RunStatus.RUNNING, self.clock.now(), tenant_id=tenant_id)

    def run(self, run: Run) -> Run:
        """Reconcile what `run` covers; the run finished (COMPLETED, or FAILED and re-raised)."""
        try:
            stats, findings = self.reconcile(run.tenant_id)
        except Exception as error:
            self.store.save(
                replace(run, status=RunStatus.FAILED, finished_at=self.clock.now(), error=str(error))
            )
            raise
        at = self.clock.now()
        issues = [self._issue_of(run.id, f, at) for f in findings]
        self.store.add_issues(issues)
        for issue in issues:
            stats.by_category[issue.category.value] = stats.by_category.get(issue.category.value, 0) + 1
        stats.issues = len(issues)
        stats.open_issues = sum(1 for i in issues if i.status is IssueStatus.OPEN)
        done = replace(run, status=RunStatus.COMPLETED, finished_at=at, stats=stats)
        self.store.save(done)
        logger.info(
            "reconciliation run completed", run_id=run.id, issues=stats.issues, redriven=stats.events_redriven
        )
        return done

    def reconcile(
        self, only: str | None = None, *, among: Collection[str] | None = None
    ) -> tuple[RunStats, list[Finding]]:
        """Every tenant, or `only` one (a filtered Scan), or those `among` (one unfiltered Scan)."""
        now = self.clock.now()
        snapshot = self.scan.read(only)
        stats = RunStats(
            events_read=snapshot.events_read,
            receipts_read=snapshot.receipts_read,
            read_units=snapshot.read_units,
        )
        if among is not None:
            tenants: Iterable[str] = set(among)
        else:
            tenants = {only} if only else set(snapshot.events) | set(self.tenants_billing())
        findings: list[Finding] = []
        for tenant_id in sorted(tenants):
            stats.tenants += 1
            findings += self._tenant(tenant_id, snapshot, now, stats)
        return stats, findings

    def _tenant(
        self, tenant_id: str, snapshot: UsageSnapshot, now: datetime, stats: RunStats
    ) -> list[Finding]:
        findings: list[Finding] = []
        settled_before = now - self.settle
        events = snapshot.events.get(tenant_id, [])
        in_flight: set[CounterKey] = set()
        for key, records in checks.uncounted(events, snapshot.receipts).items():
            due = [r for r in records if parse_iso(r.received_at) <= settled_before]
            if len(due) < len(records):
                in_flight.add(key)  # younger events are on their way through the pipeline
            if due:
                counted = list(self.counting.apply(key, due).counted)
                if counted:
                    stats.events_redriven += len(counted)
                    stats.units_redriven += sum(r.amount for r in counted)
                    findings.append(checks.redriven(key, counted))
        horizon = now - self.late_window  # older windows may have events expired from the table
        per_counter: dict[CounterKey, list[UsageRecord]] = {}
        for event in events:
            if parse_iso(event.window_start) >= horizon:
                per_counter.setdefault(event.counter, []).append(event)
        invoices = sorted(read_all(self.billing.invoices, tenant_id), key=lambda i: (i.created_at, i.id))
        billed = {
            Counter(tenant_id, u.feature, u.subscription_id, u.window_start)
            for invoice in invoices
            for line in invoice.line_items
            for u in line.usage
            if parse_iso(u.window_start) >= horizon
        }
        wanted = [checks.counter_of(k) for k in per_counter if k not in in_flight] + sorted(
            billed, key=lambda c: (c.feature, c.subscription_id, c.window_start)
        )
        readings = self.counters.readings(wanted) if wanted else {}
        for key, records in per_counter.items():
            if key in in_flight:
                continue
            stats.counters_checked += 1
            busy = any(parse_iso(r.received_at) > settled_before for r in records)
            for finding in checks.counter_findings(key, records, readings[checks.counter_of(key)]):
                # events stored after the scan read past them may be counted already: a busy
                # window's counter may hold more than the scan saw, never less
                if busy and _more_than_scanned(finding):
                    continue
                findings.append(finding)
        findings += checks.invoice_findings(tenant_id, invoices, readings)
        entries, balances = self.ledger.statement(tenant_id)
        findings += checks.ledger_findings(
            tenant_id, invoices, entries, balances, settled_before=settled_before
        )
        if self.payments is not None:
            attempts = read_all(self.payments.payments, tenant_id)
            findings += checks.payment_findings(tenant_id, invoices, attempts, settled_before=settled_before)
        stats.invoices_checked += len(invoices)
        stats.ledger_entries_checked += len(entries)
        return findings

    @staticmethod
    def _issue_of(run_id: str, finding: Finding, at: datetime) -> Issue:
        return Issue(
            id=new_id(),
            run_id=run_id,
            tenant_id=finding.tenant_id,
            category=finding.category,
            status=IssueStatus.RESOLVED if finding.resolved else IssueStatus.OPEN,
            message=finding.message,
            ids=finding.ids,
            expected=finding.expected,
            actual=finding.actual,
            created_at=at,
            updated_at=at,
            notes="re-driven and counted by the run" if finding.resolved else None,
        )
