"""dead_letter_intake: the event source mappings' on-failure queues (SQS) → the dead-letter store,
with each stream record re-read by its sequence number (ADR 0091) and each Kafka record by its
offset (ADR 0094). See meterplex.admin.intake."""

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.admin.intake import Intake, failed_request_id
from meterplex.platform.clock import system_clock
from meterplex.platform.kafka import read_offsets
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.settings import DeadLetterSettings, KafkaSettings, load
from meterplex.platform.sqs_messages import correlation_id_of_message

# a message that is no failure record is reported back (SQS redelivers, then its own DLQ policy)
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def intake() -> Intake:
    physical = load(DeadLetterSettings).targets()
    consumers = {name: consumer for consumer, name in physical.items()}
    return Intake(boto3.client("dynamodbstreams"), consumers, now=system_clock.now, read_offsets=read_kafka)


def read_kafka(topic: str, partition: int, first: int, last: int) -> list[dict[str, Any]]:
    # Kafka settings are validated on the first Kafka failure: a stream failure needs no broker
    return read_offsets(load(KafkaSettings), topic, partition, first, last)


def take(record: SQSRecord) -> None:
    # the message's own id, else the failed invocation's request id (its function's lines carry it)
    logger.set_correlation_id(correlation_id_of_message(record.raw_event) or failed_request_id(record.body))
    ids = intake().take(record.body)
    logger.warning("exhausted retries dead-lettered", message_id=record.message_id, dead_letters=ids)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=take, processor=processor, context=context)
    )
