"""usage_aggregator: usage events from Kafka → the counter of each event's usage window
(idempotent, combined per counter; poison → dead letters). See meterplex.usage.aggregator."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.clock import per_invocation
from meterplex.platform.consumer import KafkaConsumer
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.settings import UsageSettings, load
from meterplex.usage.aggregator import CONSUMER, CountingBatchProcessor, parse
from meterplex.usage.counters import Applied, CounterStore
from meterplex.usage.metrics import record_counted
from meterplex.usage.models import CounterKey, UsageRecord

settings = load(UsageSettings)
counters = CounterStore(
    settings.core_table, settings.usage_table, late_window=timedelta(days=settings.late_window_days)
)
consumer = KafkaConsumer(CONSUMER, parse)


def apply(key: CounterKey, usages: list[UsageRecord]) -> Applied:
    applied = Applied()
    try:
        counters.apply(key, usages, applied)
    finally:  # what committed before a failing chunk is counted now (a retry finds it counted)
        record_counted(applied)
    return applied  # what each record's log line says (usage.aggregator)


processor = CountingBatchProcessor(apply)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation  # business time (window rolls, receipt expiry): one test-clock read per batch
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context, processor=processor)
