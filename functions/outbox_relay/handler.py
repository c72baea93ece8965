"""outbox_relay: DynamoDB streams (core outbox items, usage event items) → Kafka.

Each table's records are mapped by the capability that owns the table (platform.relay): the
usage table is its own outbox; every other table carries outbox items. The core table's counter
changes (grants, counter shards) go to entitlements' watcher: `usage.threshold_reached` when a
counter crossed 80 % / 100 % (ADR 0080)."""

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.entitlements.thresholds import ThresholdWatcher
from meterplex.platform.clock import system_clock
from meterplex.platform.dead_letters import RecordKind, dead_letter
from meterplex.platform.kafka import create_producer
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.relay import (
    Mapper,
    Watcher,
    relay,
    stream_source_of,
    table_of,
    tenant_of_stream_record,
)
from meterplex.platform.settings import CoreTableSettings, KafkaSettings, UsageTableSettings, load
from meterplex.usage.outbox import usage_message

producer = create_producer(load(KafkaSettings))
MAPPERS: dict[str, Mapper] = {load(UsageTableSettings).usage_table: usage_message}
WATCHERS: dict[str, Watcher] = {load(CoreTableSettings).core_table: ThresholdWatcher()}


CONSUMER = "outbox_relay"


def keep_poison(record: dict[str, Any], reason: str) -> None:
    """A record no mapper can read: kept whole in the dead-letter store (ADR 0091)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    dead_letter(
        consumer=CONSUMER,
        source=stream_source_of(record),
        reason=reason,
        payload=json.dumps(image, default=str),
        at=system_clock.now(),
        record=record,
        kind=RecordKind.STREAM,
        tenant_id=tenant_of_stream_record(record),
    )
    logger.error("poison stream record dead-lettered", table=table_of(record), reason=reason)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed = relay(event.get("Records", []), producer, MAPPERS, WATCHERS, on_poison=keep_poison)
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}
