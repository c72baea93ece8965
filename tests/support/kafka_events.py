"""Build MSK batches for consumer tests, in the exact shape the local Kafka poller (and Lambda) use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.local.kafka_poller import msk_event


@dataclass
class FakeMessage:
    """A consumed Kafka message (the confluent-kafka `Message` surface the poller reads)."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes | None = b"v"
    _key: bytes | None = b"tenant-1"
    _headers: list[tuple[str, bytes]] | None = field(default_factory=lambda: [("type", b"t")])

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_767_225_600_000

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> Any:
        return self._headers


def batch(topic: str, values: list[bytes], *, partition: int = 0, first_offset: int = 0) -> dict[str, Any]:
    messages = [FakeMessage(topic, partition, first_offset + i, v, b"tenant") for i, v in enumerate(values)]
    return msk_event(messages, "127.0.0.1:9092")
