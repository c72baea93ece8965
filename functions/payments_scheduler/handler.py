"""payments_scheduler: the payments run (EventBridge Scheduler, 00:30 and 12:30 UTC) → every
collection action due by the run's time: retries, the janitor's checks, overdue manual invoices.
See meterplex.payments.collection; the test clock polls meterplex.payments.scheduler:run_completed."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.billing.scheduler import run_time
from meterplex.payments.dependencies import collector
from meterplex.platform.clock import per_invocation
from meterplex.platform.observability import logger, metrics, tracer


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return collector().run(run_time(event))
