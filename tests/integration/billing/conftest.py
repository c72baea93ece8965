"""Billing test fixtures."""

from __future__ import annotations

import pytest

from meterplex.platform.core_table import GSI1
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.repository import DUE_SHARDS, due_pk


@pytest.fixture
def nothing_else_due(moto_endpoint: str) -> None:
    """Take every subscription of earlier tests off the due index, so a billing run sees only the
    test's own. Narrower than `clean_tables`: other data (usage items the stream still replays,
    the invoice-number counters) stays as it is."""
    client, table = dynamodb_client(), load(CoreTableSettings).core_table
    for shard in range(DUE_SHARDS):
        request = {
            "TableName": table,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": due_pk(shard)}},
        }
        while True:
            page = client.query(**request)
            for item in page.get("Items", []):
                client.update_item(
                    TableName=table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="REMOVE gsi1pk, gsi1sk",
                )
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
