"""x-correlation-id is validated before it is copied anywhere (issue 9, finding 10; SPEC §0):
1–128 characters of [A-Za-z0-9._:-], else the request's own id is used — and echoed."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest

from meterplex.entitlements.store import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from tests.integration.identity.conftest import registration
from tests.integration.usage.helpers import World, event, send, stored_item, subscribed
from tests.support.api_client import ApiClient

pytestmark = pytest.mark.usefixtures("moto_endpoint")
VALID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
HOSTILE = ["x" * 10_000, "line\r\nbreak", '"}, "injected": {"', "ünïcödé"]


@pytest.fixture(scope="module")
def world() -> World:
    return subscribed(days_ago=3)


@pytest.mark.parametrize("sent", HOSTILE)
def test_usage_items_carry_a_valid_correlation_id_never_the_raw_header(world: World, sent: str) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    reply = send(
        world.tenant,
        [event(event_id, world.key("calls"), at=datetime.now(UTC))],
        headers={"x-correlation-id": sent},
    )
    assert reply.status == 202, reply.body
    echoed = reply.headers["x-correlation-id"]
    assert echoed != sent and VALID.fullmatch(echoed)
    item = stored_item(world.tenant, event_id)
    assert item is not None and item["correlationId"]["S"] == echoed


def test_a_valid_correlation_id_reaches_the_usage_item(world: World) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    reply = send(world.tenant, [event(event_id, world.key("calls"))], headers={"x-correlation-id": "req:42"})
    assert reply.headers["x-correlation-id"] == "req:42"
    item = stored_item(world.tenant, event_id)
    assert item is not None and item["correlationId"]["S"] == "req:42"


@pytest.mark.parametrize("sent", HOSTILE[:2])
def test_domain_events_for_kafka_and_audit_carry_a_valid_correlation_id(sent: str) -> None:
    reply = ApiClient().post("/api/v1/auth/register", registration(), headers={"x-correlation-id": sent})
    assert reply.status == 201, reply.body
    echoed = reply.headers["x-correlation-id"]
    assert echoed != sent and VALID.fullmatch(echoed)
    outbox = dynamodb_client().query(
        TableName=load(CoreTableSettings).core_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{reply.body['tenant']['id']}"}},
        ConsistentRead=True,
    )["Items"]
    assert outbox, "register writes its domain events to the outbox"
    assert {json.loads(i["payload"]["S"])["correlationId"] for i in outbox} == {echoed}
