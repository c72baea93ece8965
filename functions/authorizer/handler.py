"""authorizer: the REQUEST authorizer of every non-public route (see meterplex.identity.authorizer)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.identity.authorizer import authorize
from meterplex.identity.repository import IdentityRepository
from meterplex.platform.observability import logger, metrics, tracer

repository = IdentityRepository()


@logger.inject_lambda_context(log_event=False)  # the event carries the caller's token
@metrics.log_metrics  # every handler flushes (ADR 0100): a metric added below is never lost
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, repository)
