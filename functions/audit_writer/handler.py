"""audit_writer: domain events from Kafka → the tenant's audit trail (idempotent; poison → dead letters)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.audit.repository import keep_in_trail
from meterplex.platform.clock import system_clock
from meterplex.platform.dead_letters import dead_letter
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger, metrics, tracer

CONSUMER = "audit_writer"
processor = BatchProcessor(event_type=EventType.Kafka)


def handle(record: KafkaEventRecord) -> None:
    message = record  # Powertools passes the record by this keyword
    source = f"{message.topic}-{message.partition}@{message.offset}"
    raw = message.decoded_value
    try:
        event = DomainEvent.from_json(raw)
    except (ValueError, TypeError) as error:
        logger.error("poison record dead-lettered", source=source, reason=str(error))
        dead_letter(
            consumer=CONSUMER,
            source=source,
            reason=str(error),
            payload=raw.decode("utf-8", "replace"),
            at=system_clock.now(),
        )
        return
    if not keep_in_trail(event):
        logger.info("audit event already recorded", event_id=event.id)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
