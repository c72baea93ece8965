"""Kafka consumer functions, one way: parse each record, dead-letter poison, answer Lambda's
partial batch response (Powertools `BatchProcessor(EventType.Kafka)`).

* A record that can never be processed (undecodable, not the message the topic carries: the
  parser raises ValueError or TypeError) is stored in the dead-letter store with the reason and
  counts as processed: retrying it would block its partition forever.
* Anything else a handler raises is transient: the record is reported as a batch item failure and
  the event source mapping retries from it (then sends it to the on-failure destination).
* Each record is handled under its correlation id (the `x-correlation-id` header the relay puts on
  it, else its envelope's `correlationId`), and leaves one INFO line saying what became of it:
  the handler's answer when it is a string, else "processed" (ADR 0105).

`audit_writer`, `usage_aggregator`, `ledger_writer` and `invoice_worker` are built on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform import limits
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.dead_letters import RecordKind, dead_letter
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import CORRELATION_HEADER, TRACE_HEADER, logger

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


def header_of(record: KafkaEventRecord, name: str) -> str | None:
    """A header's value as text (names compared case-insensitively), None when absent."""
    for chunk in record.headers or []:
        for key, value in chunk.items():
            if key.lower() == name:
                return bytes(value).decode("utf-8", "replace")
    return None


def correlation_id_of(record: KafkaEventRecord, message: Any = None) -> str | None:
    """The id of the request a record comes from: its `x-correlation-id` header, else the
    `correlationId` of its envelope (messages relayed before the header existed); only a valid
    id (SPEC §0), never raw bytes into the logs."""
    sent = header_of(record, CORRELATION_HEADER)
    if sent is None and isinstance(message, DomainEvent):
        sent = message.correlationId
    return sent if limits.is_correlation_id(sent) else None


def trace_root_of(record: KafkaEventRecord) -> str | None:
    """The X-Ray trace id (`Root=…`) of the invocation that wrote the record, when traced."""
    header = header_of(record, TRACE_HEADER) or ""
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == "Root" and limits.is_correlation_id(value):
            return value
    return None


def log_processed(consumer: str, record: KafkaEventRecord, message: Any, outcome: Any) -> None:
    """The one INFO line of a handled record: what became of it, and its ids."""
    fields: dict[str, Any] = {
        "consumer": consumer,
        "source": source_of(record),
        "tenant_id": tenant_of(record),
    }
    if isinstance(message, DomainEvent):
        fields |= {"event_id": message.id, "event_type": message.type}
    upstream = trace_root_of(record)
    if upstream:
        fields["upstream_trace_id"] = upstream
    logger.info("record processed", outcome=outcome if isinstance(outcome, str) else "processed", **fields)


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
            logger.set_correlation_id(correlation_id_of(record))
            try:
                message = self.parse(record)
            except POISON as error:
                self.dead_letter(record, str(error) or type(error).__name__)
                return None
            if handle is None:  # a custom processor handles (and logs) the parsed messages
                return message
            logger.set_correlation_id(correlation_id_of(record, message))
            outcome = "nothing to do" if message is None else handle(message)
            log_processed(self.name, record, message, outcome)
            return outcome

        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor or self.processor, context=context
        )
        return dict(response)
