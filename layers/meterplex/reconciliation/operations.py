"""What the reconciliation routes do: request a run, read runs and issues, acknowledge and resolve
(ADR 0095). Every write carries its audit event through the outbox, in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.clock import Clock
from meterplex.platform.errors import Conflict, NotFound, Unavailable
from meterplex.platform.ids import new_id
from meterplex.platform.pagination import Key
from meterplex.reconciliation.models import ISSUE_TRANSITIONS, Issue, Run, RunStatus, Trigger
from meterplex.reconciliation.repository import IssueMoved, ReconciliationRepository

RESOURCE_RUN = "reconciliation_run"
RESOURCE_ISSUE = "reconciliation_issue"
MAX_ATTEMPTS = 3


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Reconciliation run {run_id} not found", code="RECONCILIATION_RUN_NOT_FOUND")


def issue_not_found(issue_id: str) -> NotFound:
    return NotFound(f"Reconciliation issue {issue_id} not found", code="RECONCILIATION_ISSUE_NOT_FOUND")


class ReconciliationOperations:
    def __init__(
        self,
        store: ReconciliationRepository,
        clock: Clock,
        start_run: Callable[[dict[str, Any]], None],
        tenant_exists: Callable[[str], bool],
    ) -> None:
        self.store = store
        self.clock = clock
        self.start_run = start_run  # hands the run to the reconciler (asynchronously)
        self.tenant_exists = tenant_exists

    def request_run(self, tenant_id: str | None, actor: Actor) -> Run:
        if tenant_id is not None and not self.tenant_exists(tenant_id):
            raise NotFound("Tenant not found", code="TENANT_NOT_FOUND")
        now = self.clock.now()
        run = Run(new_id(), Trigger.MANUAL, RunStatus.RUNNING, now, tenant_id=tenant_id)
        event = audit.event(
            "reconciliation_run.requested",
            actor=actor,
            at=now,
            tenant_id=tenant_id,
            resource=RESOURCE_RUN,
            resource_id=run.id,
            changes={"tenantId": tenant_id, "trigger": run.trigger.value},
        )
        self.store.start(run, [event])
        try:
            self.start_run({"runId": run.id})
        except Exception as error:
            self.store.save(replace(run, status=RunStatus.FAILED, finished_at=now, error=str(error)))
            raise Unavailable("The reconciler could not be started; retry", retry_after_s=5) from error
        return run

    def runs(self, start: Key | None, limit: int) -> tuple[list[Run], Key | None]:
        return self.store.runs(start, limit)

    def issues(self, run_id: str, start: Key | None, limit: int) -> tuple[list[Issue], Key | None]:
        if self.store.run(run_id) is None:
            raise run_not_found(run_id)
        return self.store.issues(run_id, start, limit)

    def act(self, issue_id: str, action: str, notes: str, actor: Actor) -> Issue:
        """acknowledge | resolve, with the operator's notes; 409 INVALID_TRANSITION otherwise."""
        sources, target = ISSUE_TRANSITIONS[action]
        for _ in range(MAX_ATTEMPTS):
            issue = self.store.issue(issue_id)
            if issue is None:
                raise issue_not_found(issue_id)
            if issue.status not in sources:
                raise Conflict(
                    f"Issue {issue_id} is {issue.status.value}: it cannot be {action}d",
                    code="INVALID_TRANSITION",
                )
            now = self.clock.now()
            after = replace(issue, status=target, notes=notes, updated_at=now)
            event = audit.event(
                f"reconciliation_issue.{action}d",
                actor=actor,
                at=now,
                tenant_id=issue.tenant_id,
                resource=RESOURCE_ISSUE,
                resource_id=issue.id,
                changes={"status": target.value, "previousStatus": issue.status.value, "notes": notes},
            )
            try:
                self.store.transition(issue, after, [event])
            except IssueMoved:
                continue  # acted on meanwhile: judge again
            return after
        raise Conflict(f"Issue {issue_id} kept changing; retry", code="INVALID_TRANSITION")


def invoke_reconciler(function: str) -> Callable[[dict[str, Any]], None]:
    """Lambda Invoke (`Event`: queued, answered at once) of the reconciler with a run request."""

    def start(payload: dict[str, Any]) -> None:
        from meterplex.testclock.invoker import lambda_client

        lambda_client().invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode("utf-8")
        )

    return start
