"""The local cloud's Query on moto (infra.local.aws.partition_queries): a base-table Query reads
its partition only, and answers exactly what DynamoDB answers — order, key conditions, filters,
pages, descending — while index queries still see every item."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from infra.local.aws import REGION, create_tables
from infra.topology import GlobalIndex, Table

PARTITIONS = ("a", "b", "c")
SORT_KEYS = [f"ITEM#{n:03d}" for n in range(40)] + ["BALANCE#usd", "OTHER"]


@pytest.fixture(scope="module")
def table(moto_endpoint: str) -> tuple[str, Any]:
    name = f"query-test-{uuid.uuid4().hex[:8]}"
    indexed = Table(name="t", env_var="UNUSED", indexes=(GlobalIndex("gsi1", "gsi1pk", "gsi1sk"),))
    create_tables([indexed], {"t": name}, moto_endpoint)
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)
    for pk in PARTITIONS:
        for n, sk in enumerate(reversed(SORT_KEYS)):  # written out of order
            item = {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)}}
            if n % 2 == 0:
                item |= {"gsi1pk": {"S": "ALL"}, "gsi1sk": {"S": f"{pk}#{sk}"}}
            client.put_item(TableName=name, Item=item)
    return name, client


def query_all(client: Any, **request: Any) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    while True:
        page = client.query(**request)
        found += [(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_query_answers_its_partition_in_sort_key_order(table: tuple[str, Any]) -> None:
    name, client = table
    found = query_all(
        client,
        TableName=name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "b"}},
    )
    assert found == [("b", sk) for sk in sorted(SORT_KEYS)]


def test_key_conditions_pages_and_descending_order_are_kept(table: tuple[str, Any]) -> None:
    name, client = table
    found = query_all(
        client,
        TableName=name,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": "c"}, ":p": {"S": "ITEM#"}},
        ScanIndexForward=False,
        Limit=7,
    )
    items = sorted((s for s in SORT_KEYS if s.startswith("ITEM#")), reverse=True)
    assert found == [("c", sk) for sk in items]
    between = query_all(
        client,
        TableName=name,
        KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
        FilterExpression="n > :n",
        ExpressionAttributeValues={
            ":pk": {"S": "a"},
            ":lo": {"S": "ITEM#010"},
            ":hi": {"S": "ITEM#020"},
            ":n": {"N": "25"},
        },
        Limit=3,
    )
    # n was the item's position in reversed(SORT_KEYS): ITEM#k has n = 41 - k
    assert between == [("a", f"ITEM#{k:03d}") for k in range(10, 16)]


def test_an_unknown_partition_is_empty_and_an_index_sees_every_partition(table: tuple[str, Any]) -> None:
    name, client = table
    assert (
        query_all(
            client,
            TableName=name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "nobody"}},
        )
        == []
    )
    indexed = query_all(
        client,
        TableName=name,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :all",
        ExpressionAttributeValues={":all": {"S": "ALL"}},
    )
    expected = sorted((pk, sk) for pk in PARTITIONS for n, sk in enumerate(reversed(SORT_KEYS)) if n % 2 == 0)
    assert indexed == expected
