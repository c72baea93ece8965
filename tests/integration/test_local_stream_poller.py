"""The local DynamoDB Streams event source mapping against moto: filters, partial failures, DLQ."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.local.aws import REGION, create_tables
from infra.local.dead_letters import DeadLetters
from infra.local.functions import FunctionRunner
from infra.local.stream_poller import StreamPoller
from infra.topology import OUTBOX_FILTER, StreamTrigger, Table
from tests.support.waiting import flat, wait_for

FIXTURE_FUNCTIONS = Path(__file__).parent / "fixtures_functions"


@pytest.fixture
def table(moto_endpoint: str) -> tuple[str, Any]:
    """A fresh table (so its stream holds only this test's records)."""
    name = f"stream-test-{uuid.uuid4().hex[:8]}"
    create_tables([Table(name="t", env_var="UNUSED")], {"t": name}, moto_endpoint)
    return name, boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)


def put(client: Any, table: str, pk: str, *, outbox: bool = True) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": "A"}}
    if outbox:
        item["outbox"] = {"S": "event"}
    client.put_item(TableName=table, Item=item)


def delivered_keys(module: ModuleType) -> list[list[str]]:
    return [[r["dynamodb"]["NewImage"]["pk"]["S"] for r in e["Records"]] for e in module.EVENTS]


def start_poller(
    table_name: str, runner: FunctionRunner, endpoint: str, tmp_path: Path, retry_attempts: int = 5
) -> StreamPoller:
    trigger = StreamTrigger(
        table="t", function="recorder", filters=(OUTBOX_FILTER,), retry_attempts=retry_attempts
    )
    poller = StreamPoller(
        trigger, table_name, runner.invoke, DeadLetters(tmp_path), endpoint=endpoint, retry_backoff_s=0
    )
    poller.start()
    return poller


def test_stream_poller_insert_passing_filter_is_delivered_others_are_not(
    moto_endpoint: str, table: tuple[str, Any], recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    name, client = table
    runner, module = recorder
    poller = start_poller(name, runner, moto_endpoint, tmp_path)
    try:
        # GIVEN an outbox INSERT, a plain INSERT, a MODIFY of the outbox item, then a sentinel
        put(client, name, "with-outbox")
        put(client, name, "no-outbox", outbox=False)
        put(client, name, "with-outbox")  # same key again: a MODIFY
        put(client, name, "sentinel")
        # WHEN the sentinel (after the others in the shard) has arrived
        wait_for(lambda: "sentinel" in flat(delivered_keys(module)))
    finally:
        poller.stop()
    # THEN only the INSERTs carrying an outbox attribute were delivered, in Lambda's record shape
    assert flat(delivered_keys(module)) == ["with-outbox", "sentinel"]
    record = module.EVENTS[0]["Records"][0]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventName"] == "INSERT"
    assert record["eventSourceARN"].startswith("arn:aws:dynamodb:")
    assert {"Keys", "NewImage", "SequenceNumber", "StreamViewType"} <= set(record["dynamodb"])


def test_stream_poller_partial_failure_retries_from_the_failed_record(
    moto_endpoint: str, table: tuple[str, Any], recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    name, client = table
    runner, module = recorder
    for key in ("a", "b", "c"):  # written before the poller starts: one batch from TRIM_HORIZON
        put(client, name, key)
    module.FAIL_ONCE.add("b")
    poller = start_poller(name, runner, moto_endpoint, tmp_path)
    try:
        wait_for(lambda: len(module.EVENTS) >= 2)
        time.sleep(0.3)  # a wrong implementation would deliver more batches meanwhile
    finally:
        poller.stop()
    assert delivered_keys(module) == [["a", "b", "c"], ["b", "c"]]
    assert DeadLetters(tmp_path).read("recorder") == []


def test_stream_poller_exhausted_retries_go_to_the_dead_letter_file(
    moto_endpoint: str, table: tuple[str, Any], recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    name, client = table
    runner, module = recorder
    for key in ("a", "b", "c"):
        put(client, name, key)
    module.FAIL_ALWAYS.add("b")
    poller = start_poller(name, runner, moto_endpoint, tmp_path, retry_attempts=1)
    try:
        wait_for(lambda: bool(DeadLetters(tmp_path).read("recorder")))
        put(client, name, "after")  # the shard moves on
        wait_for(lambda: "after" in flat(delivered_keys(module)))
    finally:
        poller.stop()
    assert delivered_keys(module) == [["a", "b", "c"], ["b", "c"], ["after"]]
    dead = DeadLetters(tmp_path).read("recorder")
    assert [d["record"]["dynamodb"]["NewImage"]["pk"]["S"] for d in dead] == ["b", "c"]
    assert {d["attempts"] for d in dead} == {2}
