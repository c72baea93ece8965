"""payment_events: stored provider events (core table stream) → each applied once; unknown or
unreadable → dead letters; transient failures retried, the 5th dead-lettered. See
meterplex.payments.consumer and ADR 0060."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.payments.consumer import PaymentEventsConsumer
from meterplex.payments.dependencies import processor, repository
from meterplex.platform.observability import logger, metrics, tracer

consumer = PaymentEventsConsumer(processor(), repository())


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context)
