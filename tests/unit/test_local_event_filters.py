"""Lambda event filtering, as the local stream poller applies it."""

import json
from pathlib import Path

import pytest

from infra.local.event_filters import matches, matches_any
from infra.topology import OUTBOX_FILTER

EVENTS = Path(__file__).parents[2] / "events"


def outbox_record() -> dict:
    return json.loads((EVENTS / "dynamodb_stream_outbox.json").read_text())["Records"][0]


def test_outbox_filter_passes_an_outbox_insert() -> None:
    assert matches(OUTBOX_FILTER, outbox_record())


def test_outbox_filter_rejects_a_modify() -> None:
    record = outbox_record() | {"eventName": "MODIFY"}
    assert not matches(OUTBOX_FILTER, record)


def test_outbox_filter_rejects_an_insert_without_outbox_attribute() -> None:
    record = outbox_record()
    del record["dynamodb"]["NewImage"]["outbox"]
    assert not matches(OUTBOX_FILTER, record)


def test_outbox_filter_rejects_a_remove_without_new_image() -> None:
    record = outbox_record() | {"eventName": "REMOVE"}
    del record["dynamodb"]["NewImage"]
    assert not matches(OUTBOX_FILTER, record)


def test_exists_false_matches_only_absent_fields() -> None:
    pattern = {"dynamodb": {"NewImage": {"outbox": {"S": [{"exists": False}]}}}}
    record = outbox_record()
    assert not matches(pattern, record)
    del record["dynamodb"]["NewImage"]["outbox"]
    assert matches(pattern, record)


def test_prefix_and_exact_values() -> None:
    pattern = {
        "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OUTBOX#"}]}}},
        "eventName": ["INSERT", "MODIFY"],
    }
    assert matches(pattern, outbox_record())
    assert not matches({"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "USAGE#"}]}}}}, outbox_record())


def test_anything_but_and_numeric() -> None:
    record = {"eventName": "INSERT", "size": 12}
    assert matches({"eventName": [{"anything-but": ["REMOVE"]}]}, record)
    assert not matches({"eventName": [{"anything-but": "INSERT"}]}, record)
    assert matches({"size": [{"numeric": [">", 10, "<=", 12]}]}, record)
    assert not matches({"size": [{"numeric": ["<", 10]}]}, record)


def test_matches_any_is_or_across_patterns_and_empty_passes_everything() -> None:
    record = outbox_record() | {"eventName": "MODIFY"}
    assert matches_any([], record)
    assert not matches_any([OUTBOX_FILTER], record)
    assert matches_any([OUTBOX_FILTER, {"eventName": ["MODIFY"]}], record)


def test_a_scalar_pattern_value_is_rejected() -> None:
    with pytest.raises(ValueError):
        matches({"eventName": "INSERT"}, outbox_record())
