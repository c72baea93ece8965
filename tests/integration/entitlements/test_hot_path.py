"""entitlements_api in-process against moto server: SPEC §5 shapes, errors, budget, concurrency."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.platform.auth import Role
from meterplex.platform.clock import FixedClock
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.errors import Forbidden
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import PlanFixture, build_plan
from tests.integration.catalog.handlers import api_key, call, in_parallel, serialize_moto_writes, user

pytestmark = pytest.mark.usefixtures("moto_endpoint", "linearizable_moto")
FN = "entitlements_api"


@pytest.fixture(scope="module")
def linearizable_moto() -> None:
    serialize_moto_writes()


def subscribed(grants: dict[str, tuple[str, dict[str, Any]]]) -> tuple[str, PlanFixture]:
    t, p = str(uuid.uuid4()), build_plan(grants)
    body = {"planId": p.id, "priceId": p.monthly_price_id}
    reply = call(
        "subscriptions_api", "POST", "/api/v1/subscriptions", body, principal=user({t: Role.OWNER}), tenant=t
    )
    assert reply.status == 201, reply.body
    return t, p


DEMO = {
    "hard": ("QUOTA", {"limit": 10}),
    "soft": ("QUOTA", {"limit": 5, "limitBehavior": "SOFT", "overagePrice": 10}),
    "storage": ("METERED", {"includedAmount": 10, "overagePrice": 200}),
    "sso": ("BOOLEAN", {"value": True}),
    "off": ("BOOLEAN", {"value": False}),
    "seats": ("QUOTA", {"limit": 3, "resetPeriod": "NEVER"}),
}


@pytest.fixture(scope="module")
def world() -> tuple[str, PlanFixture]:
    return subscribed(DEMO)


def check(t: str, key: str, amount: int | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    query = f"?amount={amount}" if amount is not None else ""
    kw.setdefault("principal", user({t: Role.DEVELOPER}))
    kw.setdefault("tenant", t)
    return call(FN, "GET", f"/api/v1/entitlements/{key}/check{query}", **kw)


def consume(t: str, key: str, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
    kw.setdefault("principal", user({t: Role.DEVELOPER}))
    kw.setdefault("tenant", t)
    return call(FN, "POST", f"/api/v1/entitlements/{key}/consume", body, **kw)


def test_check_shapes_per_type(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    assert check(t, p.features["sso"]).body == {
        "allowed": True,
        "feature": p.features["sso"],
        "type": "BOOLEAN",
    }
    assert check(t, p.features["off"]).body["allowed"] is False
    quota = check(t, p.features["soft"]).body
    assert set(quota) == {
        "allowed",
        "feature",
        "type",
        "limit",
        "used",
        "remaining",
        "resetAt",
        "limitBehavior",
    }
    metered = check(t, p.features["storage"]).body
    assert set(metered) == {"allowed", "feature", "type", "includedAmount", "used", "overage", "resetAt"}
    unknown = check(t, "not_in_plan")
    assert unknown.status == 200 and unknown.body["type"] == "UNKNOWN" and unknown.body["allowed"] is False


def test_check_and_consume_with_an_api_key(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    assert check(t, p.features["sso"], principal=api_key(t), tenant=None).status == 200
    assert consume(t, p.features["storage"], {"amount": 1}, principal=api_key(t), tenant=None).status == 200


def test_auth_401_and_403(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    assert check(t, p.features["sso"], principal=None).status == 401
    stranger = check(t, p.features["sso"], principal=user({str(uuid.uuid4()): Role.OWNER}))
    assert (stranger.status, stranger.code) == (403, "NOT_A_MEMBER")
    assert consume(t, p.features["storage"], principal=api_key(str(uuid.uuid4()))).code == "TENANT_MISMATCH"
    assert check(t, p.features["sso"], tenant=None).code == "TENANT_HEADER_REQUIRED"


def test_validation_400(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    assert check(t, p.features["hard"], amount=0).status == 400
    bad = consume(t, p.features["storage"], {"amount": 0, "extra": 1})
    assert bad.status == 400 and {"amount", "extra"} <= bad.fields()


def test_consume_not_in_plan_404_boolean_403(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    assert consume(t, "not_in_plan").code == "FEATURE_NOT_IN_PLAN"
    assert consume(t, p.features["sso"]).status == 403


def test_consume_soft_and_metered_report_overage(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    soft = consume(t, p.features["soft"], {"amount": 7}).body
    assert (soft["used"], soft["remaining"], soft["overage"]) == (7, 0, 2)
    storage = consume(t, p.features["storage"], {"amount": 5}).body
    assert storage["allowed"] is True and storage["consumed"] == 5


def test_hard_limit_quota_exceeded_and_check_agrees() -> None:
    t, p = subscribed({"hard": ("QUOTA", {"limit": 10})})
    key = p.features["hard"]
    assert consume(t, key, {"amount": 8}).body["remaining"] == 2
    over = consume(t, key, {"amount": 3})
    assert (over.status, over.code) == (403, "QUOTA_EXCEEDED")
    assert check(t, key, amount=3).body["allowed"] is False
    assert check(t, key, amount=2).body == {
        "allowed": True,
        "feature": key,
        "type": "QUOTA",
        "limit": 10,
        "used": 8,
        "remaining": 2,
        "resetAt": check(t, key).body["resetAt"],
        "limitBehavior": "HARD",
    }


def test_idempotency_key_returns_first_answer_and_counts_once() -> None:
    t, p = subscribed({"hard": ("QUOTA", {"limit": 10})})
    key = p.features["hard"]
    first = consume(t, key, {"amount": 4, "idempotencyKey": "order-1"})
    again = consume(t, key, {"amount": 4, "idempotencyKey": "order-1"})
    assert first.status == again.status == 200 and again.body == first.body
    assert check(t, key).body["used"] == 4
    rejected = consume(t, key, {"amount": 7, "idempotencyKey": "order-2"})
    assert rejected.code == "QUOTA_EXCEEDED"
    assert (
        consume(t, key, {"amount": 6, "idempotencyKey": "order-2"}).status == 200
    )  # rejected keys are not kept


def test_fifty_parallel_consumes_against_hard_limit_ten() -> None:
    # GIVEN a HARD quota of 10
    t, p = subscribed({"hard": ("QUOTA", {"limit": 10})})
    key = p.features["hard"]

    def one() -> tuple[int, str | None]:
        reply = consume(t, key, {"amount": 1})
        return reply.status, None if reply.status == 200 else reply.code

    # WHEN 50 consumes of 1 race, each in its own execution environment
    statuses = Counter(in_parallel(FN, one, [()] * 50))
    # THEN exactly 10 succeed, 40 are refused, and the counter reads 10
    assert statuses == {(200, None): 10, (403, "QUOTA_EXCEEDED"): 40}
    assert check(t, key).body["used"] == 10


def _count_calls() -> Counter[str]:
    calls: Counter[str] = Counter()
    dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name])
    )
    return calls


def test_budget_one_getitem_per_check_one_updateitem_per_hard_consume(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    service = EntitlementService(GrantStore())
    calls = _count_calls()
    service.check(t, p.features["hard"])
    assert calls == {"GetItem": 1}
    calls.clear()
    service.consume(t, p.features["hard"], 1)
    assert calls == {"UpdateItem": 1}


def test_window_rolls_at_the_anchor_and_archives_the_closed_window() -> None:
    # GIVEN a subscription started Jan 31 with a HARD monthly quota, fully used
    t, p = str(uuid.uuid4()), build_plan({"hard": ("QUOTA", {"limit": 2})})
    clock = FixedClock(datetime(2026, 1, 31, 9, tzinfo=UTC))
    SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock).subscribe(
        t, plan_id=p.id, price_id=p.monthly_price_id
    )
    hot = EntitlementService(GrantStore(), clock)
    key = p.features["hard"]
    hot.consume(t, key, 2)
    with pytest.raises(Forbidden):
        hot.consume(t, key, 1)
    # WHEN the window ends on Feb 28 (clamped)
    clock.set(datetime(2026, 2, 28, 9, tzinfo=UTC) + timedelta(seconds=1))
    assert hot.check(t, key)["used"] == 0
    # THEN consumption restarts and the January window is archived with its count
    assert hot.consume(t, key, 1)["used"] == 1
    assert hot.check(t, key)["resetAt"] == "2026-03-31T09:00:00.000Z"
    item = dynamodb_client().get_item(
        TableName=GrantStore().table,
        Key={
            "pk": {"S": f"TENANT#{t}#FEAT#{key}"},
            "sk": {"S": "WINDOW#" + _sub_id(t) + "#2026-01-31T09:00:00.000Z"},
        },
    )["Item"]
    assert item["used"]["N"] == "2"


def _sub_id(tenant_id: str) -> str:
    current = DynamoSubscriptionRepository().current(tenant_id)
    assert current is not None
    return current.id


def test_never_window_does_not_reset(world: tuple[str, PlanFixture]) -> None:
    t, p = world
    seats = consume(t, p.features["seats"], {"amount": 2}).body
    assert seats["remaining"] == 1
    assert check(t, p.features["seats"]).body["resetAt"] is None
