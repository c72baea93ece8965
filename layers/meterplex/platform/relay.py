"""The outbox relay: DynamoDB stream records → Kafka messages, keyed by tenant id.

Which message a record carries depends on the table it comes from (the record's
`eventSourceARN`): a capability whose table is its own outbox registers a *mapper* for it (the
usage table's event items, ADR 0020: `meterplex.usage.outbox.usage_message`); every other table's
records are outbox items (`outbox` = topic, `payload` = the envelope, written in the same
transaction as the change they announce: `outbox_message`). A table may also register a
*watcher* for its records that are not outbox items (the core table's counters:
`usage.threshold_reached`, ADR 0080): it reads the whole record (both images) and returns the
messages the change carries — usually none — and, once the batch is read, `flush` returns what it
found over the whole batch (each message names the record to retry if it fails). The relay knows
no capability.

Records are produced asynchronously and flushed once per batch (one round of produce requests,
not one per record); a record whose delivery failed, or that is malformed, is reported as a batch
item failure so the event source mapping retries from it (and, after its retries, sends it to the
on-failure destination). Nothing is acknowledged before Kafka has it.

Every message carries the correlation id of the request that wrote it (`x-correlation-id`) and
the X-Ray trace header stored with it (`x-amzn-trace-id`; else the relay's own) as Kafka headers,
and the relay logs one line per correlation id (and topic and tenant) of a batch, under it, with
the event ids of its messages (ADR 0105).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import current_trace_header, logger, message_headers

FLUSH_TIMEOUT_S = 20
POLL_EVERY = 64  # messages produced between two polls of the producer (a poll per message cost 4 %)
# where outbox items and usage event items keep the writer's X-Ray trace header (ADR 0105)
TRACE_ATTRIBUTE = "traceHeader"

Headers = list[tuple[str, bytes]]


class Producer(Protocol):
    def produce(self, topic: str, value: bytes, key: bytes, headers: Headers, on_delivery: Any) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def flush(self, timeout: float) -> int: ...


@dataclass(frozen=True)
class OutboxMessage:
    sequence_number: str
    topic: str
    key: str
    value: str
    correlation_id: str | None = None  # the request that wrote it
    event_id: str | None = None  # the envelope's id, for the log line
    trace_header: str | None = None  # the X-Ray trace header it was written under

    def headers(self) -> Headers:
        """Its Kafka headers: the correlation id and trace header, when it has them."""
        return message_headers(self.correlation_id, self.trace_header)


# (sequence number, the record's NewImage in DynamoDB JSON) → its message; ValueError if none.
Mapper = Callable[[str, dict[str, Any]], OutboxMessage]


class Watcher(Protocol):
    def watch(self, record: dict[str, Any]) -> list[OutboxMessage]:
        """A stream record that is not an outbox item (both images) → the messages the change
        carries, maybe none; ValueError when the record cannot be read."""
        ...

    def flush(self) -> list[OutboxMessage]:
        """What the batch's records carry together (called once, after every record was watched)."""
        ...


def outbox_message(sequence_number: str, image: dict[str, Any]) -> OutboxMessage:
    """The message an outbox item carries (`outbox` = topic, `payload` = the envelope)."""
    topic = (image.get("outbox") or {}).get("S")
    payload = (image.get("payload") or {}).get("S")
    if not topic or not payload:
        raise ValueError("not an outbox record (no outbox/payload attribute)")
    event = DomainEvent.from_json(payload)
    return OutboxMessage(sequence_number, topic, event.tenantId, payload, event.correlationId, event.id)


def table_of(record: dict[str, Any]) -> str | None:
    """The table a stream record comes from: `arn:aws:dynamodb:<r>:<a>:table/<name>/stream/<t>`."""
    arn = str(record.get("eventSourceARN") or "")
    _, found, rest = arn.partition(":table/")
    return rest.split("/", 1)[0] if found else None


def stream_source_of(record: dict[str, Any]) -> str:
    """Where a stream record came from, as dead letters name it: `<table>@<sequence number>`."""
    sequence_number = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
    return f"{table_of(record) or 'stream'}@{sequence_number}"


def tenant_of_stream_record(record: Mapping[str, Any]) -> str | None:
    """The tenant of an outbox item (`OUTBOX#<tenant>`) or a usage item (`TENANT#<tenant>#…`)."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    prefix, _, rest = str((image.get("pk") or {}).get("S") or "").partition("#")
    return rest.split("#", 1)[0] if prefix in {"OUTBOX", "TENANT"} and rest else None


def message_of(record: dict[str, Any], mappers: Mapping[str, Mapper]) -> OutboxMessage:
    """The Kafka message a stream record carries, by its table's mapper (outbox items by default)."""
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") or {}
    mapper = mappers.get(table_of(record) or "", outbox_message)
    message = mapper(str(dynamodb.get("SequenceNumber", "")), image)
    if message.trace_header:
        return message
    stored_trace = (image.get(TRACE_ATTRIBUTE) or {}).get("S")
    return replace(message, trace_header=stored_trace) if stored_trace else message


def messages_of(
    record: dict[str, Any], mappers: Mapping[str, Mapper], watchers: Mapping[str, Watcher]
) -> list[OutboxMessage]:
    """The messages a stream record carries: a record of a watched table that is not an outbox
    item goes to the watcher; anything else is one message, by its table's mapper."""
    watcher = watchers.get(table_of(record) or "")
    if watcher is not None and "outbox" not in ((record.get("dynamodb") or {}).get("NewImage") or {}):
        return watcher.watch(record)
    return [message_of(record, mappers)]


# (the stream record, why it can never be relayed) → None: it is kept in the dead-letter store.
PoisonHandler = Callable[[dict[str, Any], str], None]


def relay(
    records: Iterable[dict[str, Any]],
    producer: Producer,
    mappers: Mapping[str, Mapper] | None = None,
    watchers: Mapping[str, Watcher] | None = None,
    on_poison: PoisonHandler | None = None,
) -> list[str]:
    """Publish every record's messages (`mappers`, `watchers`: by table name); the sequence
    numbers of the records that failed (a record fails when any of its messages did). A record
    that is not a message at all goes to `on_poison` (and counts as done: retrying it cannot
    help) when given, else it fails like the others."""
    failed: list[str] = []
    records = list(records)
    last_sequence_number = str(
        ((records[-1] if records else {}).get("dynamodb") or {}).get("SequenceNumber", "")
    )
    pending: dict[tuple[str, int], str] = {}  # (sequence number, message index) → sequence number
    own_trace = current_trace_header()
    logger.set_correlation_id(None)  # each message's own is set where it is logged
    delivered_messages: list[OutboxMessage] = []

    def delivered(message: OutboxMessage, index: int) -> Any:
        def callback(error: Any, _message: Any) -> None:
            if error is not None:
                logger.set_correlation_id(message.correlation_id)
                logger.error(
                    "outbox delivery failed", sequence_number=message.sequence_number, error=str(error)
                )
                failed.append(message.sequence_number)
            else:
                delivered_messages.append(message)
            pending.pop((message.sequence_number, index), None)

        return callback

    counter = itertools.count()

    def publish(messages: Iterable[OutboxMessage]) -> None:
        for message in messages:
            index = next(counter)
            if not message.trace_header and own_trace:
                message = replace(message, trace_header=own_trace)
            pending[(message.sequence_number, index)] = message.sequence_number
            producer.produce(
                message.topic,
                value=message.value.encode(),
                key=message.key.encode(),
                headers=message.headers(),
                on_delivery=delivered(message, index),
            )
            if index % POLL_EVERY == 0:  # serve delivery callbacks now and then; flush serves the rest
                producer.poll(0)

    for record in records:
        sequence_number = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            messages = messages_of(record, mappers or {}, watchers or {})
        except ValueError as error:
            logger.error("malformed outbox record", sequence_number=sequence_number, reason=str(error))
            if on_poison is None:
                failed.append(sequence_number)
            else:
                on_poison(record, str(error) or type(error).__name__)
            continue
        publish(
            m if m.sequence_number == sequence_number else replace(m, sequence_number=sequence_number)
            for m in messages
        )
    for watcher in (watchers or {}).values():
        try:
            publish(watcher.flush())
        except Exception as error:  # e.g. a read the watcher needed: retry the batch's last record
            logger.exception("outbox watcher failed", reason=str(error))
            failed.append(last_sequence_number)
    if producer.flush(FLUSH_TIMEOUT_S) > 0 or pending:
        failed.extend(pending.values())  # not confirmed in time: retry them
    log_relayed(delivered_messages)
    logger.set_correlation_id(None)
    return list(dict.fromkeys(failed))


def log_relayed(messages: Iterable[OutboxMessage]) -> None:
    """What Kafka confirmed, one line per (topic, tenant, correlation id) of the batch, under that
    correlation id, naming each message's event id: one ingest request of 500 events costs one
    line, not 500 (a line costs ~0.5 ms of CPU and its share of CloudWatch's ingestion price)."""
    groups: dict[tuple[str | None, str, str], list[OutboxMessage]] = {}
    for message in messages:
        groups.setdefault((message.correlation_id, message.topic, message.key), []).append(message)
    for (correlation_id, topic, tenant_id), group in groups.items():
        logger.set_correlation_id(correlation_id)
        logger.info(
            "outbox messages relayed",
            topic=topic,
            tenant_id=tenant_id,
            messages=len(group),
            event_ids=[m.event_id for m in group],
            first_sequence_number=group[0].sequence_number,
            last_sequence_number=group[-1].sequence_number,
        )
