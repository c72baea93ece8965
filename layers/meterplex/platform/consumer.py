"""Kafka consumer functions, one way: parse each record, dead-letter poison, answer Lambda's
partial batch response (Powertools `BatchProcessor(EventType.Kafka)`).

* A record that can never be processed (undecodable, not the message the topic carries: the
  parser raises ValueError or TypeError) is stored in the dead-letter store with the reason and
  counts as processed: retrying it would block its partition forever.
* Anything else a handler raises is transient: the record is reported as a batch item failure and
  the event source mapping retries from it (then sends it to the on-failure destination).

`audit_writer`, `usage_aggregator`, `ledger_writer` and `invoice_worker` are built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.dead_letters import RecordKind, dead_letter
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger

T = TypeVar("T")
POISON = (ValueError, TypeError, UnicodeDecodeError)


def source_of(record: KafkaEventRecord) -> str:
    """Where a record came from, as dead letters name it: `<topic>-<partition>@<offset>`."""
    return f"{record.topic}-{record.partition}@{record.offset}"


def payload_of(record: KafkaEventRecord) -> str:
    try:
        return record.decoded_value.decode("utf-8", "replace")
    except (TypeError, ValueError):
        return str(record.raw_event.get("value"))


def tenant_of(record: KafkaEventRecord) -> str | None:
    """The record's key: every topic is keyed by tenant id (platform.relay)."""
    try:
        key = record.decoded_key
    except (TypeError, ValueError):
        return None
    text = key.decode("utf-8", "replace") if key else ""
    return text if 0 < len(text) <= 255 else None


def domain_event_of(record: KafkaEventRecord) -> DomainEvent:
    """A record's event envelope (docs/events.md); ValueError/TypeError when it is not one."""
    return DomainEvent.from_json(record.decoded_value)


class KafkaConsumer(Generic[T]):
    """One consumer function: `name` (its dead letters' consumer), how it parses a record."""

    def __init__(
        self, name: str, parse: Callable[[KafkaEventRecord], T], *, clock: Clock = system_clock
    ) -> None:
        self.name = name
        self.parse = parse
        self.clock = clock  # operational time: when a record failed, not business time
        self.processor = BatchProcessor(event_type=EventType.Kafka)

    def dead_letter(self, record: KafkaEventRecord, reason: str) -> None:
        """Keep the record as it arrived (the retry hands it back to this consumer: ADR 0091)."""
        source = source_of(record)
        logger.error("poison record dead-lettered", consumer=self.name, source=source, reason=reason)
        dead_letter(
            consumer=self.name,
            source=source,
            reason=reason,
            payload=payload_of(record),
            at=self.clock.now(),
            record=dict(record.raw_event),
            kind=RecordKind.KAFKA,
            tenant_id=tenant_of(record),
        )

    def parsed(self, record: KafkaEventRecord) -> T | None:
        """The record's message, or None once it was dead-lettered as poison."""
        try:
            return self.parse(record)
        except POISON as error:
            self.dead_letter(record, str(error) or type(error).__name__)
            return None

    def run(
        self,
        event: dict[str, Any],
        context: LambdaContext,
        handle: Callable[[T], Any] | None = None,
        *,
        processor: BatchProcessor | None = None,
    ) -> dict[str, Any]:
        """The partial batch response for `event`: each parsed record goes to `handle`; or a
        custom `processor` (e.g. one that combines records) gets `parsed` as its record handler."""

        def record_handler(record: KafkaEventRecord) -> Any:
            message = self.parsed(record)
            if message is None or handle is None:
                return message
            return handle(message)

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor or self.processor, context=context
        )
        return dict(response)
