"""The local event source mapping reads GetRecords as the wire's JSON (infra.local.stream_reads):
the records Lambda would deliver — binary values in base64, the creation time in epoch seconds."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import boto3
import pytest

from infra.local.aws import REGION, create_tables
from infra.local.stream_poller import lambda_record
from infra.local.stream_reads import StreamReader, StreamReadError
from infra.topology import Table


@pytest.fixture
def stream(moto_endpoint: str) -> tuple[Any, str, str, str]:
    """A fresh table's client and name, its stream's ARN and its one shard's TRIM_HORIZON iterator."""
    name = f"reads-test-{uuid.uuid4().hex[:8]}"
    create_tables([Table(name="t", env_var="UNUSED")], {"t": name}, moto_endpoint)
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=moto_endpoint)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return client, name, arn, iterator["ShardIterator"]


def test_a_page_of_records_is_the_wire_document_lambda_delivers(
    moto_endpoint: str, stream: tuple[Any, str, str, str]
) -> None:
    client, name, arn, iterator = stream
    item = {"pk": {"S": "a"}, "sk": {"S": "EVENT"}, "bits": {"B": b"\x01\xff"}, "n": {"N": "3"}}
    client.put_item(TableName=name, Item=item)
    client.put_item(TableName=name, Item={**item, "n": {"N": "4"}})
    page = StreamReader(moto_endpoint).get_records(iterator, limit=1000)
    inserted, modified = page["Records"]
    assert (inserted["eventName"], modified["eventName"]) == ("INSERT", "MODIFY")
    # binary values stay base64 text, as in Lambda's event (boto3 would have decoded them to bytes)
    assert inserted["dynamodb"]["NewImage"]["bits"] == {"B": base64.b64encode(b"\x01\xff").decode()}
    assert modified["dynamodb"]["OldImage"]["n"] == {"N": "3"}
    assert modified["dynamodb"]["NewImage"]["n"] == {"N": "4"}
    assert page["NextShardIterator"]
    # the next page from where this one ended holds nothing new
    assert StreamReader(moto_endpoint).get_records(page["NextShardIterator"], limit=1000)["Records"] == []
    # the poller's record: whole epoch seconds and the stream's ARN, as Lambda sends them
    record = lambda_record(inserted, arn)
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, int) and created > 1_700_000_000
    assert record["eventSourceARN"] == arn and record["eventSource"] == "aws:dynamodb"


def test_a_limit_bounds_the_page(moto_endpoint: str, stream: tuple[Any, str, str, str]) -> None:
    client, name, _, iterator = stream
    for key in "abc":
        client.put_item(TableName=name, Item={"pk": {"S": key}, "sk": {"S": "EVENT"}})
    reader = StreamReader(moto_endpoint)
    first = reader.get_records(iterator, limit=2)
    rest = reader.get_records(first["NextShardIterator"], limit=2)
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in first["Records"] + rest["Records"]]
    assert (len(first["Records"]), keys) == (2, ["a", "b", "c"])


def test_a_refused_read_raises_with_the_service_error_code(moto_endpoint: str) -> None:
    with pytest.raises(StreamReadError) as refused:
        StreamReader(moto_endpoint).get_records("not-an-iterator", limit=10)
    # moto answers an unknown iterator with a bare 500 (DynamoDB: a 400 ValidationException)
    assert refused.value.status >= 400 and refused.value.code and str(refused.value)
