"""`subscription.*` events carry the documented schema (docs/events.md), not the storage document."""

from __future__ import annotations

import json
import uuid

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import build_plan

pytestmark = pytest.mark.usefixtures("moto_endpoint")

DOCUMENTED = {
    "id", "planId", "planSlug", "priceId", "interval", "amount", "currency", "status", "startedAt",
    "trialEndsAt", "currentPeriodStart", "currentPeriodEnd", "cancelAtPeriodEnd", "cancelledAt",
    "endedAt", "replacedBy",
}  # fmt: skip


def outbox_events(tenant: str) -> list[dict]:
    page = dynamodb_client().query(
        TableName=load(CoreTableSettings).core_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{tenant}"}},
    )
    return [json.loads(item["payload"]["S"]) for item in page["Items"]]


def test_subscribe_and_plan_change_publish_the_documented_schema() -> None:
    # GIVEN a tenant that subscribes, then changes plan (the first subscription is cancelled)
    tenant, plan = (
        str(uuid.uuid4()),
        build_plan({"calls": ("METERED", {"includedAmount": 5, "overagePrice": 1})}),
    )
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service())
    first = service.subscribe(tenant, plan_id=plan.id, price_id=plan.monthly_price_id)
    second = service.subscribe(tenant, plan_id=plan.id, price_id=plan.annual_price_id)

    # THEN each write staged one audit event (ADR 0090): a create, then a plan change
    staged = outbox_events(tenant)
    audits = [e["data"] for e in staged if "audit" in e["data"]]
    assert sorted((a["action"], a["resourceId"]) for a in audits) == sorted(
        [("create", first.id), ("change_plan", second.id)]
    )
    # AND each domain event names its resource and carries exactly the documented fields
    domain = [e for e in staged if "audit" not in e["data"]]
    events = sorted(domain, key=lambda e: (e["type"], e["data"]["resourceId"]))
    assert [(e["type"], e["data"]["resourceId"]) for e in events] == sorted(
        [
            ("subscription.created", first.id),
            ("subscription.created", second.id),
            ("subscription.cancelled", first.id),
        ]
    )
    for event in events:
        assert event["data"]["resource"] == "subscription"
        assert set(event["data"]["changes"]) == DOCUMENTED  # no entitlements, no finalBill: storage only
    cancelled = next(e for e in events if e["type"] == "subscription.cancelled")["data"]["changes"]
    assert cancelled["status"] == "CANCELLED" and cancelled["replacedBy"] == second.id
