"""A tenant's subscriptions in ONE Query, with raw botocore (no PynamoDB models): the read the
usage ingest path makes on every request (which subscription was active at each timestamp)."""

from __future__ import annotations

import json
from typing import Any

from meterplex.platform.dynamodb import dynamodb_client
from meterplex.subscriptions.documents import SUB_PREFIX, from_document, subs_pk
from meterplex.subscriptions.models import Subscription


class TenantSubscriptions:
    def __init__(self, table: str, client: Any | None = None) -> None:
        self.client = client or dynamodb_client()
        self.table = table

    def of_tenant(self, tenant_id: str) -> list[Subscription]:
        """Every subscription the tenant ever had (consistent read), in key order."""
        subscriptions: list[Subscription] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :sub)",
            "ExpressionAttributeValues": {":pk": {"S": subs_pk(tenant_id)}, ":sub": {"S": SUB_PREFIX}},
            "ProjectionExpression": "doc",
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**request)
            subscriptions += [from_document(json.loads(item["doc"]["S"])) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return subscriptions
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
