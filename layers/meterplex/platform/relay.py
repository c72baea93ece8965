"""The outbox relay: DynamoDB stream records of outbox items → Kafka, keyed by tenant id.

Two kinds of record reach it (the event source mappings filter out everything else):
* core table outbox items (`outbox` = topic, `payload` = the envelope), written in the same
  transaction as the change they announce;
* usage table event items (`sk = EVENT`): the stored event is its own outbox; its message on
  `meterplex.usage.v1` is built from the item's attributes (ADR 0020, docs/events.md).

Records are produced asynchronously and flushed once per batch (one round of produce requests,
not one per record); a record whose delivery failed, or that is malformed, is reported as a batch
item failure so the event source mapping retries from it (and, after its retries, sends it to the
on-failure destination). Nothing is acknowledged before Kafka has it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from meterplex.platform import topics
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger
from meterplex.usage.keys import EVENT_SK

FLUSH_TIMEOUT_S = 20


class Producer(Protocol):
    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Any) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def flush(self, timeout: float) -> int: ...


@dataclass(frozen=True)
class OutboxMessage:
    sequence_number: str
    topic: str
    key: str
    value: str


def outbox_message(record: dict[str, Any]) -> OutboxMessage:
    """The Kafka message an outbox stream record carries; ValueError when it carries none."""
    dynamodb = record.get("dynamodb") or {}
    image = dynamodb.get("NewImage") or {}
    if "outbox" not in image and (image.get("sk") or {}).get("S") == EVENT_SK:
        return usage_message(str(dynamodb.get("SequenceNumber", "")), image)
    topic = (image.get("outbox") or {}).get("S")
    payload = (image.get("payload") or {}).get("S")
    if not topic or not payload:
        raise ValueError("not an outbox record (no outbox/payload attribute)")
    event = DomainEvent.from_json(payload)
    return OutboxMessage(str(dynamodb.get("SequenceNumber", "")), topic, event.tenantId, payload)


def usage_message(sequence_number: str, image: dict[str, Any]) -> OutboxMessage:
    """The `meterplex.usage.v1` message of a usage event item (key = tenant id)."""
    from meterplex.usage.items import record_from_item  # pure; imported when a usage record arrives

    record = record_from_item(image)
    return OutboxMessage(sequence_number, topics.USAGE, record.tenant_id, record.envelope().to_json())


def relay(records: Iterable[dict[str, Any]], producer: Producer) -> list[str]:
    """Publish every outbox record; the sequence numbers of the records that failed."""
    failed: list[str] = []
    pending: dict[str, OutboxMessage] = {}

    def delivered(sequence_number: str) -> Any:
        def callback(error: Any, _message: Any) -> None:
            if error is not None:
                logger.error("outbox delivery failed", sequence_number=sequence_number, error=str(error))
                failed.append(sequence_number)
            pending.pop(sequence_number, None)

        return callback

    for record in records:
        sequence_number = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
        try:
            message = outbox_message(record)
        except ValueError as error:
            logger.error("malformed outbox record", sequence_number=sequence_number, reason=str(error))
            failed.append(sequence_number)
            continue
        pending[sequence_number] = message
        producer.produce(
            message.topic,
            value=message.value.encode(),
            key=message.key.encode(),
            on_delivery=delivered(sequence_number),
        )
        producer.poll(0)
    if producer.flush(FLUSH_TIMEOUT_S) > 0 or pending:
        failed.extend(pending)  # not confirmed in time: retry them
    return failed
