"""reconciler: one reconciliation run (ADR 0095) — the daily schedule's (EventBridge Scheduler) or
one requested by `POST /admin/reconciliation/run` (`{"runId": …}`, invoked asynchronously).
See meterplex.reconciliation.service."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform import business_metrics
from meterplex.platform.clock import per_invocation
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.reconciliation.runs import run_for_event


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation  # business time: one test-clock read per run
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = run_for_event(event)
    business_metrics.count(business_metrics.RECONCILIATION_ISSUES, run.stats.open_issues)
    metrics.add_metric(name="UsageEventsRedriven", unit=MetricUnit.Count, value=run.stats.events_redriven)
    return {
        "runId": run.id,
        "status": run.status.value,
        "issues": run.stats.issues,
        "openIssues": run.stats.open_issues,
        "eventsRedriven": run.stats.events_redriven,
    }
