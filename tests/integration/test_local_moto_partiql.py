"""The local cloud's moto (infra.local.aws, its own process): PartiQL INSERTs with DynamoDB's
semantics (ADR 0070) and GetRecords answered with the same document as moto's serializer."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime
from typing import Any

import boto3
import pytest

from infra.local.aws import REGION, create_tables
from infra.local.partiql_insert import insert_shape
from infra.topology import Table
from meterplex.usage.repository import insert


@pytest.fixture
def table(moto_endpoint: str) -> tuple[str, Any]:
    name = f"partiql-test-{uuid.uuid4().hex[:8]}"
    create_tables([Table(name="t", env_var="UNUSED")], {"t": name}, moto_endpoint)
    return name, boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)


def stream_records(client: Any, name: str) -> list[dict[str, Any]]:
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=client.meta.endpoint_url)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return list(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])


def item(pk: str, **extra: Any) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "EVENT"}, **extra}


def test_insert_stores_a_new_item_and_answers_duplicate_for_an_existing_key(table: tuple[str, Any]) -> None:
    name, client = table
    first = client.batch_execute_statement(
        Statements=[insert(name, item("a", n={"N": "1"})), insert(name, item("b"))]
    )
    assert [r.get("Error") for r in first["Responses"]] == [None, None]
    # WHEN the same key is inserted again (with other values), next to a new one
    again = client.batch_execute_statement(
        Statements=[insert(name, item("a", n={"N": "2"})), insert(name, item("c"))]
    )
    # THEN that statement alone fails with DuplicateItem, the item is unchanged, the other is stored
    assert [(r.get("Error") or {}).get("Code") for r in again["Responses"]] == ["DuplicateItem", None]
    stored = client.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"S": "EVENT"}})["Item"]
    assert stored["n"] == {"N": "1"}
    # AND the stream holds one INSERT per stored item, nothing for the refused one
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in stream_records(client, name)] == [
        ("INSERT", "a"),
        ("INSERT", "b"),
        ("INSERT", "c"),
    ]


def test_two_batches_racing_for_the_same_keys_insert_each_key_once(table: tuple[str, Any]) -> None:
    name, client = table
    keys = [f"k{i}" for i in range(25)]
    answers: list[list[dict[str, Any]]] = []
    barrier = threading.Barrier(6)

    def send() -> None:
        own = boto3.client("dynamodb", region_name=REGION, endpoint_url=client.meta.endpoint_url)
        barrier.wait()
        answers.append(
            own.batch_execute_statement(Statements=[insert(name, item(k)) for k in keys])["Responses"]
        )

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [sum(1 for a in answers if "Error" not in a[i]) for i in range(len(keys))]
    assert stored == [1] * len(keys)


def test_only_the_platforms_inserts_are_run_natively() -> None:
    shape = insert_shape("""INSERT INTO "t" VALUE {'pk': ?, 'it''s': ?, 'n': -12, 's': 'a, ''b'': {c}'}""")
    assert shape is not None
    assert (shape.table, shape.parameters) == ("t", ("pk", "it's"))
    assert shape.item([{"S": "k"}, {"S": "v"}]) == {
        "pk": {"S": "k"},
        "it's": {"S": "v"},
        "n": {"N": "-12"},
        "s": {"S": "a, 'b': {c}"},
    }
    assert shape.distinct
    twice = insert_shape("""INSERT INTO "t" VALUE {'pk': ?, 'pk': 'again'}""")
    assert twice is not None and not twice.distinct  # answered ValidationError, as DynamoDB does
    assert insert_shape('SELECT * FROM "t" WHERE pk = ?') is None  # left to moto
    for other in ("{'pk': ?,}", "{'pk': ? 'x': ?}", "{'pk': \"x\"}", "{'pk': 'open}", "{'pk': ?} x"):
        assert insert_shape(f'INSERT INTO "t" VALUE {other}') is None, other


def test_an_insert_with_literals_stores_them_beside_its_parameters(table: tuple[str, Any]) -> None:
    name, client = table
    hostile = "x', 'pk': 'y"  # a quote in a literal is doubled: it cannot end the string early
    statement = insert(name, item("lit", note={"S": hostile}, n={"N": "42"}, p={"S": "param"}), {"note", "n"})
    assert statement["Statement"].count("?") == 3 and "'x'', ''pk'': ''y'" in statement["Statement"]
    (answer,) = client.batch_execute_statement(Statements=[statement])["Responses"]
    assert answer.get("Error") is None, answer
    stored = client.get_item(TableName=name, Key={"pk": {"S": "lit"}, "sk": {"S": "EVENT"}})["Item"]
    assert stored == {
        "pk": {"S": "lit"},
        "sk": {"S": "EVENT"},
        "note": {"S": hostile},
        "n": {"N": "42"},
        "p": {"S": "param"},
    }
    # the same text again: the key exists, whatever is spelled where
    (again,) = client.batch_execute_statement(Statements=[statement])["Responses"]
    assert again["Error"]["Code"] == "DuplicateItem"


def test_get_records_parse_as_before_with_timestamps_and_binary_values(table: tuple[str, Any]) -> None:
    name, client = table
    client.put_item(TableName=name, Item=item("bin", bits={"B": b"\x01\xff"}, n={"N": "3"}))
    (record,) = stream_records(client, name)
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], datetime)
    assert record["dynamodb"]["NewImage"]["bits"] == {"B": b"\x01\xff"}
    assert record["dynamodb"]["NewImage"]["n"] == {"N": "3"}
    assert record["eventSource"] == "aws:dynamodb" and record["dynamodb"]["SequenceNumber"]


def test_stream_records_keep_their_shape_with_sizes_and_unique_ids(table: tuple[str, Any]) -> None:
    # infra.local.moto_records builds records without moto's json.dumps: same fields, images, keys
    name, client = table
    client.put_item(TableName=name, Item=item("m", n={"N": "1"}))
    client.put_item(TableName=name, Item=item("m", n={"N": "2"}, note={"S": "x" * 500}))
    inserted, modified = stream_records(client, name)
    assert (inserted["eventName"], modified["eventName"]) == ("INSERT", "MODIFY")
    assert modified["dynamodb"]["Keys"] == {"pk": {"S": "m"}, "sk": {"S": "EVENT"}}
    assert modified["dynamodb"]["OldImage"]["n"] == {"N": "1"} and modified["dynamodb"]["NewImage"]["n"] == {
        "N": "2"
    }
    assert modified["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert 0 < inserted["dynamodb"]["SizeBytes"] < modified["dynamodb"]["SizeBytes"]
    assert modified["dynamodb"]["SizeBytes"] > 500  # the images' sizes, not a constant
    ids = {inserted["eventID"], modified["eventID"]}
    assert len(ids) == 2 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_batch_that_is_not_all_inserts_is_answered_by_moto(moto_endpoint: str) -> None:
    name = f"plain{uuid.uuid4().hex[:8]}"  # unquoted in moto's own PartiQL
    create_tables([Table(name="t", env_var="UNUSED")], {"t": name}, moto_endpoint)
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)
    client.batch_execute_statement(Statements=[insert(name, item("s", n={"N": "7"}))])
    select = {
        "Statement": f"SELECT * FROM {name} WHERE pk = ? AND sk = ?",
        "Parameters": [{"S": "s"}, {"S": "EVENT"}],
    }
    answers = client.batch_execute_statement(Statements=[select])["Responses"]
    assert answers[0].get("Item", {}).get("n") == {"N": "7"}, answers


def test_an_insert_stores_every_kind_of_value_as_sent(table: tuple[str, Any]) -> None:
    # plain INSERT batches are read as their JSON (moto_records.plain_insert_requests), one with a
    # blob by moto's parser: either way the item holds what was sent
    name, client = table
    values = {
        "s": {"S": "text"},
        "n": {"N": "12.5"},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"inner": {"L": [{"S": "a"}, {"N": "1"}]}}},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
    }
    blobs = {"b": {"B": b"\x00\x01"}, "bs": {"BS": [b"\x02", b"\x03"]}}
    for statement in (insert(name, item("plain", **values)), insert(name, item("blob", **values, **blobs))):
        (answer,) = client.batch_execute_statement(Statements=[statement])["Responses"]
        assert answer.get("Error") is None, answer
    for key, sent in (("plain", values), ("blob", {**values, **blobs})):
        stored = client.get_item(TableName=name, Key={"pk": {"S": key}, "sk": {"S": "EVENT"}})["Item"]
        assert {k: v for k, v in stored.items() if k not in ("pk", "sk")} == sent
