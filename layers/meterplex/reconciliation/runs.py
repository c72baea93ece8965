"""Which run a reconciler invocation carries out: a schedule's firing starts a new run; a run
request (`{"runId": …}`, written RUNNING by the API) is carried out once."""

from __future__ import annotations

from typing import Any

from meterplex.reconciliation.dependencies import reconciler
from meterplex.reconciliation.models import Run, RunStatus, Trigger
from meterplex.reconciliation.repository import ReconciliationRepository


def run_for_event(event: dict[str, Any]) -> Run:
    service = reconciler()
    run_id = event.get("runId") if isinstance(event, dict) else None
    if not run_id:
        run = service.new_run(Trigger.SCHEDULE)
        ReconciliationRepository().start(run)
        return service.run(run)
    requested = ReconciliationRepository().run(str(run_id))
    if requested is None:
        raise ValueError(f"no reconciliation run {run_id}")
    if requested.status is not RunStatus.RUNNING:
        return requested  # a redelivered invocation: the run was carried out
    return service.run(requested)
