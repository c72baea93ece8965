"""dead_letter_intake's reading of a metadata-only Kafka failure record (ADR 0094): where to re-read,
and a broker that does not answer fails the message (SQS hands it over again) before anything is
stored. The reads and the store themselves run against Tansu and moto (tests/integration/admin)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from meterplex.admin.intake import Intake, OffsetRange, kafka_positions
from meterplex.platform.kafka import KafkaUnavailable


def test_records_info_names_an_offset_range_per_partition_even_with_dashes_in_the_topic() -> None:
    info = {
        "recordsInfo": {
            "meterplex.usage.v1-2": {"firstRecordOffset": "40", "lastRecordOffset": "42"},
            "my-topic-0": {"firstRecordOffset": "7", "lastRecordOffset": "7"},
        }
    }
    assert kafka_positions(info) == [
        OffsetRange("meterplex.usage.v1", 2, 40, 42),
        OffsetRange("my-topic", 0, 7, 7),
    ]
    assert [p.source for p in kafka_positions(info) if isinstance(p, OffsetRange)] == [
        "meterplex.usage.v1-2@40-42",
        "my-topic-0@7",
    ]


def test_a_position_that_is_no_partition_stays_text_to_be_stored_not_replayable() -> None:
    assert kafka_positions({"recordsInfo": {"nopartition": {"firstRecordOffset": "1"}}}) == ["nopartition@1"]
    assert kafka_positions({"eventSourceArn": "arn:x", "recordInfo": {"offset": "9"}}) == ["arn:x@9"]


def test_a_broker_that_does_not_answer_fails_the_message_before_anything_is_stored() -> None:
    def unavailable(topic: str, partition: int, first: int, last: int) -> list[dict[str, Any]]:
        raise KafkaUnavailable(f"{topic}-{partition}: timed out")

    body = {
        "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:usage_aggregator"},
        "KafkaBatchInfo": {"recordsInfo": {"t-0": {"firstRecordOffset": "1", "lastRecordOffset": "2"}}},
    }
    intake = Intake(None, {}, now=lambda: datetime.now(UTC), read_offsets=unavailable)
    # no moto here: a write would fail with another error than KafkaUnavailable
    with pytest.raises(KafkaUnavailable):
        intake.take(json.dumps(body))
