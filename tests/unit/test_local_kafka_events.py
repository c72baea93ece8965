"""MSK events as the local Kafka poller builds them, and how it reads partial failures."""

from __future__ import annotations

import base64
from typing import Any

from infra.local.kafka_poller import CLUSTER_ARN, failed_offsets, msk_event
from tests.support.kafka_events import FakeMessage


def test_msk_event_groups_records_by_topic_partition() -> None:
    event = msk_event([FakeMessage("t", 0, 5), FakeMessage("t", 1, 7), FakeMessage("t", 0, 6)], "b:9092")
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == CLUSTER_ARN
    assert event["bootstrapServers"] == "b:9092"
    assert {k: [r["offset"] for r in v] for k, v in event["records"].items()} == {"t-0": [5, 6], "t-1": [7]}


def test_msk_record_encodes_key_value_and_headers_like_lambda() -> None:
    record = msk_event([FakeMessage("t", 0, 5, b'{"a":1}')], "b")["records"]["t-0"][0]
    assert record == {
        "topic": "t",
        "partition": 0,
        "offset": 5,
        "timestamp": 1767225600000,
        "timestampType": "CREATE_TIME",
        "key": base64.b64encode(b"tenant-1").decode(),
        "value": base64.b64encode(b'{"a":1}').decode(),
        "headers": [{"type": [116]}],
    }


def test_msk_record_without_key_or_headers() -> None:
    record = msk_event([FakeMessage("t", 0, 1, _key=None, _headers=None)], "b")["records"]["t-0"][0]
    assert "key" not in record and record["headers"] == []


def batch() -> dict[str, Any]:
    return msk_event([FakeMessage("t", 0, 5), FakeMessage("t", 0, 6), FakeMessage("t", 1, 9)], "b")


def test_failed_offsets_success_is_empty() -> None:
    assert failed_offsets(batch(), {"batchItemFailures": []}) == {}
    assert failed_offsets(batch(), None) == {}


def test_failed_offsets_reads_powertools_identifiers_lowest_per_partition() -> None:
    response = {
        "batchItemFailures": [
            {"itemIdentifier": {"partition": "t-0", "offset": 6}},
            {"itemIdentifier": {"partition": "t-0", "offset": 5}},
        ]
    }
    assert failed_offsets(batch(), response) == {"t-0": 5}


def test_failed_offsets_reads_string_identifiers() -> None:
    assert failed_offsets(batch(), {"batchItemFailures": [{"itemIdentifier": "t-1@9"}]}) == {"t-1": 9}


def test_failed_offsets_unknown_identifier_fails_the_whole_batch() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "t-0@99"}]}
    assert failed_offsets(batch(), response) == {"t-0": 5, "t-1": 9}
