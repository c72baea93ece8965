"""Reconciliation API schemas (SPEC §8.4, ADR 0095) and the mapping from the domain types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meterplex.catalog.schemas import Timestamp
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.pagination import CursorMeta
from meterplex.reconciliation.models import Category, Issue, IssueStatus, Run, RunStatus, Trigger

Notes = Annotated[str, Field(min_length=1, max_length=2000, description="What the operator found or did")]


class RunRequest(ApiModel):
    tenant_id: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="Reconcile one tenant (omitted: every tenant)"
    )


class IssueActionRequest(ApiModel):
    notes: Notes


class RunStatsOut(ApiResponse):
    tenants: int
    events_read: int = Field(description="Accepted usage events the run read (each once)")
    receipts_read: int = Field(description="Counting receipts the run read")
    counters_checked: int
    invoices_checked: int
    ledger_entries_checked: int
    events_redriven: int = Field(description="Accepted events that were in no counter: counted by the run")
    units_redriven: int
    read_units: float = Field(description="DynamoDB read request units the usage Scan cost")
    issues: int
    open_issues: int = Field(description="Issues the run could not resolve itself (the alarm's metric)")
    by_category: dict[str, int]


class RunOut(ApiResponse):
    id: str
    trigger: Trigger
    status: RunStatus
    tenant_id: str | None
    started_at: Timestamp
    finished_at: Timestamp | None
    error: str | None
    stats: RunStatsOut


class IssueOut(ApiResponse):
    id: str
    run_id: str
    tenant_id: str
    category: Category
    status: IssueStatus
    message: str
    ids: dict[str, list[str]] = Field(
        description="What is involved: eventIds, invoiceIds, entryIds, counter…"
    )
    expected: int | None
    actual: int | None
    notes: str | None
    created_at: Timestamp
    updated_at: Timestamp


class RunsPage(ApiResponse):
    data: list[RunOut]
    meta: CursorMeta


class IssuesPage(ApiResponse):
    data: list[IssueOut]
    meta: CursorMeta


def run_out(run: Run) -> RunOut:
    s = run.stats
    return RunOut(
        id=run.id,
        trigger=run.trigger,
        status=run.status,
        tenant_id=run.tenant_id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
        stats=RunStatsOut(
            tenants=s.tenants,
            events_read=s.events_read,
            receipts_read=s.receipts_read,
            counters_checked=s.counters_checked,
            invoices_checked=s.invoices_checked,
            ledger_entries_checked=s.ledger_entries_checked,
            events_redriven=s.events_redriven,
            units_redriven=s.units_redriven,
            read_units=s.read_units,
            issues=s.issues,
            open_issues=s.open_issues,
            by_category=dict(s.by_category),
        ),
    )


def issue_out(issue: Issue) -> IssueOut:
    return IssueOut(
        id=issue.id,
        run_id=issue.run_id,
        tenant_id=issue.tenant_id,
        category=issue.category,
        status=issue.status,
        message=issue.message,
        ids=issue.ids,
        expected=issue.expected,
        actual=issue.actual,
        notes=issue.notes,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
    )
