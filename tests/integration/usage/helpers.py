"""Usage test helpers: a tenant subscribed in the past, send batches, carry them to the aggregator."""

from __future__ import annotations

import importlib.util
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from types import ModuleType
from typing import Any

from infra.local.functions import LambdaContext
from meterplex.catalog.dependencies import catalog_service
from meterplex.entitlements.keys import GRANT_SK, grant_pk, window_sk
from meterplex.platform import topics
from meterplex.platform.clock import FixedClock, iso
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import UsageSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from meterplex.usage.items import record_from_item
from meterplex.usage.keys import EVENT_SK, event_pk
from tests.integration.catalog.builders import PlanFixture, build_plan
from tests.integration.catalog.handlers import ROOT, api_key, call
from tests.support.api_client import Reply
from tests.support.kafka_events import batch

AGGREGATOR = ROOT / "functions" / "usage_aggregator" / "handler.py"
PLAN = {
    "calls": ("METERED", {"includedAmount": 1000, "overagePrice": 10}),
    "api": ("QUOTA", {"limit": 100, "limitBehavior": "SOFT", "overagePrice": 10}),
    "sso": ("BOOLEAN", {"value": True}),
}


@dataclass
class World:
    tenant: str
    plan: PlanFixture
    subscription_id: str
    started_at: datetime

    def key(self, name: str) -> str:
        return self.plan.features[name]


def subscribed(days_ago: int = 40) -> World:
    """A tenant whose MONTHLY subscription started `days_ago` days ago (its grant window is stale)."""
    tenant, plan = str(uuid.uuid4()), build_plan(PLAN)
    started = datetime.now(UTC) - timedelta(days=days_ago)
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), FixedClock(started))
    sub = service.subscribe(tenant, plan_id=plan.id, price_id=plan.monthly_price_id)
    return World(tenant, plan, sub.id, sub.started_at)


def event(event_id: str, feature: str, amount: int = 1, at: datetime | None = None, **extra: Any) -> dict:
    return {
        "eventId": event_id,
        "feature": feature,
        "amount": amount,
        "timestamp": iso(at or datetime.now(UTC)),
    } | extra


def send(tenant_id: str, events: list[dict], **kw: Any) -> Reply:
    kw.setdefault("principal", api_key(tenant_id))
    return call("usage_api", "POST", "/api/v1/usage/events", {"events": events}, **kw)


def stored_item(tenant: str, event_id: str) -> dict | None:
    response = dynamodb_client().get_item(
        TableName=load(UsageSettings).usage_table,
        Key={"pk": {"S": event_pk(tenant, event_id)}, "sk": {"S": EVENT_SK}},
        ConsistentRead=True,
    )
    return response.get("Item")


def envelopes(tenant: str, event_ids: list[str]) -> list[bytes]:
    """What the relay would put on the usage topic for these stored events."""
    values = []
    for event_id in event_ids:
        item = stored_item(tenant, event_id)
        assert item is not None, event_id
        values.append(record_from_item(item).envelope().to_json().encode())
    return values


@cache
def aggregator() -> ModuleType:
    """functions/usage_aggregator/handler.py, loaded once (tests reach its `counters`)."""
    spec = importlib.util.spec_from_file_location("fn_usage_aggregator_module", AGGREGATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def aggregate(values: list[bytes], *, first_offset: int = 0, partition: int = 0) -> dict:
    event = batch(topics.USAGE, values, partition=partition, first_offset=first_offset)
    return aggregator().lambda_handler(event, LambdaContext("usage_aggregator"))


def _used(pk: str, sk: str) -> int:
    item = (
        dynamodb_client()
        .get_item(
            TableName=load(UsageSettings).core_table,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return int(item["used"]["N"]) if item and "used" in item else 0


def grant_used(world: World, name: str) -> int:
    return _used(grant_pk(world.tenant, world.key(name)), GRANT_SK)


def archive_used(world: World, name: str, window_start: str) -> int:
    return _used(grant_pk(world.tenant, world.key(name)), window_sk(world.subscription_id, window_start))


def check_used(world: World, name: str) -> int:
    reply = call(
        "entitlements_api",
        "GET",
        f"/api/v1/entitlements/{world.key(name)}/check",
        principal=api_key(world.tenant),
    )
    assert reply.status == 200, reply.body
    return int(reply.body["used"])
