"""usage_aggregator: usage events from Kafka → the counter of each event's usage window
(idempotent, combined per counter; poison → dead letters). See meterplex.usage.aggregator."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.clock import per_invocation, system_clock
from meterplex.platform.dead_letters import dead_letter
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.settings import UsageSettings, load
from meterplex.usage.aggregator import CONSUMER, CountingBatchProcessor, parse, source_of
from meterplex.usage.counters import CounterStore
from meterplex.usage.models import CounterKey, UsageRecord

settings = load(UsageSettings)
counters = CounterStore(settings.core_table, settings.usage_table)


def to_dead_letters(record: KafkaEventRecord, reason: str) -> None:
    source = source_of(record)
    logger.error("poison record dead-lettered", source=source, reason=reason)
    try:
        payload = record.decoded_value.decode("utf-8", "replace")
    except (TypeError, ValueError):
        payload = str(record.raw_event.get("value"))
    dead_letter(consumer=CONSUMER, source=source, reason=reason, payload=payload, at=system_clock.now())


def apply(key: CounterKey, usages: list[UsageRecord]) -> list[UsageRecord]:
    applied = counters.apply(key, usages)
    metrics.add_metric(name="UsageEventsCounted", unit=MetricUnit.Count, value=len(applied.counted))
    return applied.missing


def handle(record: KafkaEventRecord) -> UsageRecord | None:
    try:
        return parse(record)
    except ValueError as error:
        to_dead_letters(record, str(error))
        return None


processor = CountingBatchProcessor(apply, to_dead_letters)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation  # business time (window rolls, countedAt): one test-clock read per batch
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle, processor=processor, context=context)
