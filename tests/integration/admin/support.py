"""Builders for the admin tests: dead letters with real records."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

from infra.local.kafka_poller import msk_event
from meterplex.platform import topics
from meterplex.platform.dead_letters import RecordKind, dead_letter
from meterplex.platform.events import DomainEvent
from tests.support.kafka_events import FakeMessage, batch

_offsets = itertools.count(int(time.time() * 1000) % 1_000_000_000)


def kafka_record(topic: str, value: bytes, *, key: str = "tenant") -> dict[str, Any]:
    """One MSK record, as the Kafka trigger hands it to a consumer, at a fresh offset."""
    event = batch(topic, [value], first_offset=next(_offsets))
    record: dict[str, Any] = next(iter(event["records"].values()))[0]
    return record


def dead_letter_of_an_ignored_event() -> str:
    """An OPEN dead letter of `audit_writer` whose record it processes (and ignores) on retry: a
    domain event that is not an audit record."""
    event = DomainEvent.new("subscription.renewed", tenant_id="t-dl", at=datetime.now(UTC), data={})
    record = kafka_record(topics.DOMAIN, event.to_json().encode())
    return dead_letter(
        consumer="audit_writer",
        source=f"{record['topic']}-{record['partition']}@{record['offset']}",
        reason="test: failed once",
        payload=event.to_json(),
        at=datetime.now(UTC),
        record=record,
        kind=RecordKind.KAFKA,
        tenant_id="t-dl",
    )


def keyed_batch(
    topic: str, values: list[bytes], key: str, *, partition: int = 0, first_offset: int
) -> dict[str, Any]:
    """An MSK event as the relay's messages arrive: keyed by tenant id."""
    messages = [
        FakeMessage(topic, partition, first_offset + i, v, key.encode()) for i, v in enumerate(values)
    ]
    return msk_event(messages, "127.0.0.1:9092")


def produce_to(
    bootstrap: str,
    topic: str,
    partition: int,
    values: list[bytes],
    key: str,
    headers: list[tuple[str, bytes]] | None = None,
) -> list[int]:
    """Produce `values` to one partition of the real broker, keyed (the relay keys by tenant);
    the offsets the broker gave them."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0})
    offsets: list[int] = []

    def delivered(error: Any, message: Any) -> None:
        assert error is None, error
        offsets.append(message.offset())

    for value in values:
        producer.produce(
            topic, value=value, key=key.encode(), partition=partition, headers=headers, on_delivery=delivered
        )
    assert producer.flush(30) == 0
    return sorted(offsets)
