"""outbox_relay: DynamoDB stream (outbox items only, by the event source mapping's filter) → Kafka."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.kafka import create_producer
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.relay import relay
from meterplex.platform.settings import KafkaSettings, load

producer = create_producer(load(KafkaSettings))


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = relay(event.get("Records", []), producer)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
