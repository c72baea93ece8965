"""platform.consumer: poison is dead-lettered and counts as processed; other failures are retried."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord

from infra.local.functions import LambdaContext
from meterplex.platform import consumer as consumer_module
from meterplex.platform.consumer import KafkaConsumer
from tests.support.kafka_events import batch


def parse(record: KafkaEventRecord) -> int:
    return int(record.decoded_value)  # ValueError for anything but digits: poison


def test_poison_is_dead_lettered_and_transient_failures_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    stored: list[dict[str, Any]] = []
    monkeypatch.setattr(consumer_module, "dead_letter", lambda **kw: stored.append(kw))
    handled: list[int] = []

    def handle(value: int) -> None:
        if value == 13:
            raise RuntimeError("the table is throttling")
        handled.append(value)

    event = batch("t.v1", [b"1", b"oops", b"13", b"4"], partition=2, first_offset=40)
    response = KafkaConsumer("test_consumer", parse).run(event, LambdaContext("test_consumer"), handle)

    assert handled == [1, 4]
    assert [(d["consumer"], d["source"], d["payload"]) for d in stored] == [
        ("test_consumer", "t.v1-2@41", "oops")
    ]
    assert response == {"batchItemFailures": [{"itemIdentifier": {"partition": "t.v1-2", "offset": 42}}]}
