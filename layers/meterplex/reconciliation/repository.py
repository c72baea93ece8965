"""Runs and issues in the core table (ADR 0095; docs/data-model.md). Key shapes live here only.

* run: `RECON#RUNS` / `RUN#<runId>` (UUIDv7: a Query reads them newest first);
* issue: `RECON#ISSUE#<issueId>` / `ISSUE`, on gsi1 `RECON#RUN#<runId>` / `<issueId>` (a run's
  issues, in the order found). Keyed by its own id, so acknowledge/resolve is one conditional
  update of the item (and its audit event through the outbox, in the same transaction).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError

from meterplex.platform import topics
from meterplex.platform.clock import iso, parse_iso
from meterplex.platform.core_table import GSI1, CoreItem, core_connection
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item
from meterplex.platform.pagination import Key, exclusive_start, invalid_cursor, sort_key_cursor
from meterplex.platform.transactions import failed_keys, transaction
from meterplex.reconciliation.models import (
    Category,
    Issue,
    IssueStatus,
    Run,
    RunStats,
    RunStatus,
    Trigger,
)

RUNS_PK = "RECON#RUNS"
RUN_PREFIX = "RUN#"
ISSUE_SK = "ISSUE"


def run_sk(run_id: str) -> str:
    return f"{RUN_PREFIX}{run_id}"


def issue_pk(issue_id: str) -> str:
    return f"RECON#ISSUE#{issue_id}"


def run_issues_pk(run_id: str) -> str:
    return f"RECON#RUN#{run_id}"


class RunRecord(CoreItem):
    trigger = UnicodeAttribute()
    status = UnicodeAttribute()
    tenantId = UnicodeAttribute(null=True)
    startedAt = UnicodeAttribute()
    finishedAt = UnicodeAttribute(null=True)
    stats = UnicodeAttribute()  # RunStats JSON
    error = UnicodeAttribute(null=True)


class IssueRecord(CoreItem):
    issueId = UnicodeAttribute()
    runId = UnicodeAttribute()
    tenantId = UnicodeAttribute()
    category = UnicodeAttribute()
    status = UnicodeAttribute()
    message = UnicodeAttribute()
    ids = UnicodeAttribute()  # JSON
    expected = NumberAttribute(null=True)
    actual = NumberAttribute(null=True)
    createdAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()
    notes = UnicodeAttribute(null=True)


def _run_of(record: RunRecord) -> Run:
    return Run(
        id=record.sk[len(RUN_PREFIX) :],
        trigger=Trigger(record.trigger),
        status=RunStatus(record.status),
        started_at=parse_iso(record.startedAt),
        tenant_id=record.tenantId,
        finished_at=parse_iso(record.finishedAt) if record.finishedAt else None,
        stats=RunStats(**json.loads(record.stats)),
        error=record.error,
    )


def _issue_of(record: IssueRecord) -> Issue:
    return Issue(
        id=record.issueId,
        run_id=record.runId,
        tenant_id=record.tenantId,
        category=Category(record.category),
        status=IssueStatus(record.status),
        message=record.message,
        ids=json.loads(record.ids),
        expected=int(record.expected) if record.expected is not None else None,
        actual=int(record.actual) if record.actual is not None else None,
        created_at=parse_iso(record.createdAt),
        updated_at=parse_iso(record.updatedAt),
        notes=record.notes,
    )


def _run_record(run: Run) -> RunRecord:
    return RunRecord(
        RUNS_PK,
        run_sk(run.id),
        trigger=run.trigger.value,
        status=run.status.value,
        tenantId=run.tenant_id,
        startedAt=iso(run.started_at),
        finishedAt=iso(run.finished_at) if run.finished_at else None,
        stats=json.dumps(asdict(run.stats), separators=(",", ":")),
        error=run.error,
    )


def _issue_record(issue: Issue) -> IssueRecord:
    return IssueRecord(
        issue_pk(issue.id),
        ISSUE_SK,
        gsi1pk=run_issues_pk(issue.run_id),
        gsi1sk=issue.id,
        issueId=issue.id,
        runId=issue.run_id,
        tenantId=issue.tenant_id,
        category=issue.category.value,
        status=issue.status.value,
        message=issue.message,
        ids=json.dumps(issue.ids, separators=(",", ":"), sort_keys=True),
        expected=issue.expected,
        actual=issue.actual,
        createdAt=iso(issue.created_at),
        updatedAt=iso(issue.updated_at),
        notes=issue.notes,
    )


class IssueMoved(Exception):
    """The issue was not in the status the transition was judged on."""


class ReconciliationRepository:
    def __init__(self) -> None:
        self._connection = core_connection()

    # -- runs --------------------------------------------------------------------------------
    def start(self, run: Run, events: Sequence[DomainEvent] = ()) -> None:
        """The run's item (new), with the audit events of whoever asked for it."""
        tx = transaction(self._connection)
        with tx:
            tx.save(_run_record(run), condition=RunRecord.pk.does_not_exist())
            for event in events:
                tx.save(outbox_item(event, topics.DOMAIN))

    def save(self, run: Run) -> None:
        _run_record(run).save()

    def run(self, run_id: str) -> Run | None:
        try:
            return _run_of(RunRecord.get(RUNS_PK, run_sk(run_id), consistent_read=True))
        except RunRecord.DoesNotExist:
            return None

    def runs(self, start: Key | None, limit: int) -> tuple[list[Run], Key | None]:
        result = RunRecord.query(
            RUNS_PK,
            RunRecord.sk.startswith(RUN_PREFIX),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=exclusive_start(RUNS_PK, start, RUN_PREFIX),
        )
        return [_run_of(r) for r in result], sort_key_cursor(result.last_evaluated_key)

    def latest(self) -> Run | None:
        """The newest finished run (the admin overview's `lastReconciliation`)."""
        for record in RunRecord.query(RUNS_PK, RunRecord.sk.startswith(RUN_PREFIX), scan_index_forward=False):
            run = _run_of(record)
            if run.status is not RunStatus.RUNNING:
                return run
        return None

    # -- issues ------------------------------------------------------------------------------
    def add_issues(self, issues: Sequence[Issue]) -> None:
        with IssueRecord.batch_write() as batch:
            for issue in issues:
                batch.save(_issue_record(issue))

    def issue(self, issue_id: str) -> Issue | None:
        try:
            return _issue_of(IssueRecord.get(issue_pk(issue_id), ISSUE_SK, consistent_read=True))
        except IssueRecord.DoesNotExist:
            return None

    def issues(self, run_id: str, start: Key | None, limit: int) -> tuple[list[Issue], Key | None]:
        """A page of the run's issues (gsi1, in the order found)."""
        exclusive: dict[str, Any] | None = None
        if start is not None:
            issue_id = start["sk"]
            if not issue_id or "#" in issue_id:
                raise invalid_cursor()
            exclusive = {
                "pk": {"S": issue_pk(issue_id)},
                "sk": {"S": ISSUE_SK},
                "gsi1pk": {"S": run_issues_pk(run_id)},
                "gsi1sk": {"S": issue_id},
            }
        result = IssueRecord.query(
            run_issues_pk(run_id), index_name=GSI1, limit=limit, last_evaluated_key=exclusive
        )
        issues = [_issue_of(r) for r in result]
        last = result.last_evaluated_key
        return issues, ({"sk": last["gsi1sk"]["S"]} if last else None)

    def transition(self, before: Issue, after: Issue, events: Sequence[DomainEvent]) -> None:
        """The issue moved from `before.status` (conditional), with its audit events."""
        tx = transaction(self._connection)
        try:
            with tx:
                tx.save(_issue_record(after), condition=IssueRecord.status == before.status.value)
                for event in events:
                    tx.save(outbox_item(event, topics.DOMAIN))
        except TransactWriteError as error:
            if (issue_pk(before.id), ISSUE_SK) in failed_keys(tx, error):
                raise IssueMoved(before.id) from error
            raise
