"""outbox_relay: DynamoDB streams (core outbox items, usage event items) → Kafka.

Each table's records are mapped by the capability that owns the table (platform.relay): the
usage table is its own outbox; every other table carries outbox items. The core table's counter
changes (grants, counter shards) go to entitlements' watcher: `usage.threshold_reached` when a
counter crossed 80 % / 100 % (ADR 0080)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.entitlements.thresholds import ThresholdWatcher
from meterplex.platform.kafka import create_producer
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.relay import Mapper, Watcher, relay
from meterplex.platform.settings import CoreTableSettings, KafkaSettings, UsageTableSettings, load
from meterplex.usage.outbox import usage_message

producer = create_producer(load(KafkaSettings))
MAPPERS: dict[str, Mapper] = {load(UsageTableSettings).usage_table: usage_message}
WATCHERS: dict[str, Watcher] = {load(CoreTableSettings).core_table: ThresholdWatcher()}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = relay(event.get("Records", []), producer, MAPPERS, WATCHERS)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
