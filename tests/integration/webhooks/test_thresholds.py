"""`usage.threshold_reached` from the core table's counter records (ADR 0080) on moto, for both
counter representations: the single grant item (its stream images compared), and a high-throughput
grant's counter shards (ADR 0071: the total read once per relay batch)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.entitlements.keys import GRANT_SK, grant_pk, shard_pk, window_sk
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.entitlements.thresholds import ThresholdWatcher
from meterplex.platform.clock import system_clock
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import build_plan

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def subscribed(kind: str, terms: dict[str, Any], *, high: bool = False) -> tuple[str, str]:
    tenant, plan = str(uuid.uuid4()), build_plan({"f": (kind, terms)})
    SubscriptionService(DynamoSubscriptionRepository(), catalog_service()).subscribe(
        tenant, plan_id=plan.id, price_id=plan.monthly_price_id
    )
    feature = plan.features["f"]
    if high:
        assert GrantStore().set_throughput(tenant, feature) is not None
    return tenant, feature


def grant_item(tenant: str, feature: str) -> dict[str, Any]:
    key = {"pk": {"S": grant_pk(tenant, feature)}, "sk": {"S": GRANT_SK}}
    item = dynamodb_client().get_item(
        TableName=load(CoreTableSettings).core_table, Key=key, ConsistentRead=True
    )
    return item["Item"]  # type: ignore[no-any-return]


def modify(old: dict[str, Any], new: dict[str, Any], sequence: str) -> dict[str, Any]:
    keys = {"pk": new["pk"], "sk": new["sk"]}
    return {
        "eventName": "MODIFY",
        "dynamodb": {"Keys": keys, "OldImage": old, "NewImage": new, "SequenceNumber": sequence},
    }


def events(messages: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in messages]


def test_the_grant_items_images_cross_80_then_100_percent_once_each() -> None:
    tenant, feature = subscribed("METERED", {"includedAmount": 100, "overagePrice": 10})
    service, watcher = EntitlementService(GrantStore(), system_clock), ThresholdWatcher()

    def consume(amount: int, sequence: str) -> list[dict[str, Any]]:
        before = grant_item(tenant, feature)
        service.consume(tenant, feature, amount)
        return events(watcher.watch(modify(before, grant_item(tenant, feature), sequence)))

    assert consume(79, "1") == []
    first = consume(6, "2")
    assert [(e["type"], e["data"]["changes"]["threshold"], e["data"]["changes"]["used"]) for e in first] == [
        ("usage.threshold_reached", 80, 85)
    ]
    assert consume(10, "3") == []
    second = consume(30, "4")  # past 100 % in one step: only 100 is new
    assert [e["data"]["changes"]["threshold"] for e in second] == [100]
    assert consume(50, "5") == [] and watcher.flush() == []
    assert first[0]["tenantId"] == tenant and first[0]["data"]["changes"]["allowance"] == 100


def test_sharded_counters_are_judged_by_their_total_once_per_batch() -> None:
    tenant, feature = subscribed(
        "QUOTA", {"limit": 100, "limitBehavior": "SOFT", "overagePrice": 10}, high=True
    )
    service = EntitlementService(GrantStore(), system_clock)
    for _ in range(9):
        service.consume(tenant, feature, 10)  # spread over the counter shards
    grant = GrantStore().get(tenant, feature)
    assert grant is not None and grant.high_throughput
    shard_record = {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {
                "pk": {"S": shard_pk(tenant, feature, 3)},
                "sk": {"S": window_sk(grant.subscription_id, grant.window_start)},
            },
            "NewImage": {"consumed": {"N": "10"}, "used": {"N": "10"}},
            "SequenceNumber": "42",
        },
    }
    watcher = ThresholdWatcher()
    assert watcher.watch(shard_record) == [] and watcher.watch(shard_record) == []  # noted, no read yet
    flushed = watcher.flush()
    assert [m.sequence_number for m in flushed] == ["42"]
    reached = events(flushed)
    assert [(e["data"]["changes"]["threshold"], e["data"]["changes"]["used"]) for e in reached] == [(80, 90)]
    watcher.watch(shard_record)
    assert watcher.flush() == []  # a warm relay remembers what it sent
    # a cold one sends it again with the same id (the dispatcher's conditional put drops it)
    again = ThresholdWatcher()
    again.watch(shard_record)
    assert [e["id"] for e in events(again.flush())] == [reached[0]["id"]]
    service.consume(tenant, feature, 15)
    watcher.watch(shard_record)
    assert [e["data"]["changes"]["threshold"] for e in events(watcher.flush())] == [100]
