"""Consume idempotency keys are bound to their request and answered from what was stored with the
write (issue 9, finding 4; SPEC §0 and §5; ADR 0035). Against moto server, in-process handlers."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore, dynamodb_client
from meterplex.platform.auth import Role
from tests.integration.catalog.builders import PlanFixture, build_plan
from tests.integration.catalog.handlers import call, in_parallel, serialize_moto_writes, user
from tests.support.api_client import Reply

pytestmark = pytest.mark.usefixtures("moto_endpoint", "linearizable_moto")
FN = "entitlements_api"
PLAN = {
    "api_calls": ("QUOTA", {"limit": 1000, "limitBehavior": "SOFT", "overagePrice": 10}),
    "storage": ("METERED", {"includedAmount": 10, "overagePrice": 200}),
    "hard": ("QUOTA", {"limit": 10}),
}


@pytest.fixture(scope="module")
def linearizable_moto() -> None:
    serialize_moto_writes()


@pytest.fixture
def world() -> tuple[str, PlanFixture]:
    tenant, plan = str(uuid.uuid4()), build_plan(PLAN)
    body = {"planId": plan.id, "priceId": plan.monthly_price_id}
    owner = user({tenant: Role.OWNER})
    reply = call("subscriptions_api", "POST", "/api/v1/subscriptions", body, principal=owner, tenant=tenant)
    assert reply.status == 201, reply.body
    return tenant, plan


def consume(tenant: str, feature: str, body: dict[str, Any] | None = None) -> Reply:
    principal = user({tenant: Role.DEVELOPER})
    return call(
        FN, "POST", f"/api/v1/entitlements/{feature}/consume", body, principal=principal, tenant=tenant
    )


def used(tenant: str, feature: str) -> int:
    principal = user({tenant: Role.DEVELOPER})
    reply = call(FN, "GET", f"/api/v1/entitlements/{feature}/check", principal=principal, tenant=tenant)
    return int(reply.body["used"])


def test_same_key_with_another_amount_or_feature_is_409_and_counts_nothing(
    world: tuple[str, PlanFixture],
) -> None:
    tenant, plan = world
    api_calls, storage = plan.features["api_calls"], plan.features["storage"]
    first = consume(tenant, api_calls, {"amount": 2, "idempotencyKey": "k-123"})
    assert first.status == 200 and first.body["consumed"] == 2
    other_amount = consume(tenant, api_calls, {"amount": 7, "idempotencyKey": "k-123"})
    other_feature = consume(tenant, storage, {"amount": 7, "idempotencyKey": "k-123"})
    assert (other_amount.status, other_amount.code) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert (other_feature.status, other_feature.code) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert (used(tenant, api_calls), used(tenant, storage)) == (2, 0)
    same = consume(tenant, api_calls, {"amount": 2, "idempotencyKey": "k-123"})
    assert same.status == 200 and same.body == first.body


class Crash(Exception):
    """The function dies right after its write committed (no answer reaches the caller)."""


@pytest.fixture
def crash_after_commit() -> Iterator[None]:
    events = dynamodb_client().meta.events
    fired: list[bool] = []

    def crash(**_: Any) -> None:
        if not fired:
            fired.append(True)
            raise Crash("killed after TransactWriteItems committed")

    events.register("after-call.dynamodb.TransactWriteItems", crash, unique_id="crash-after-commit")
    yield
    events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="crash-after-commit")


def test_a_retry_after_a_crash_returns_the_first_answer_unchanged(
    world: tuple[str, PlanFixture], crash_after_commit: None
) -> None:
    tenant, plan = world
    api_calls = plan.features["api_calls"]
    # GIVEN a keyed consume whose function died right after the write
    crashed = consume(tenant, api_calls, {"amount": 2, "idempotencyKey": "order-7"})
    assert crashed.status == 500
    # WHEN other units are consumed, then the client retries with the same key
    assert consume(tenant, api_calls, {"amount": 3}).status == 200
    retry = consume(tenant, api_calls, {"amount": 2, "idempotencyKey": "order-7"})
    # THEN it gets the answer of the write it made (used 2 right after it), counted once
    assert retry.status == 200
    assert (retry.body["consumed"], retry.body["used"], retry.body["remaining"]) == (2, 2, 998)
    assert used(tenant, api_calls) == 5


def test_keyed_consumes_never_overshoot_a_hard_limit_under_concurrency(
    world: tuple[str, PlanFixture],
) -> None:
    tenant, plan = world
    hard = plan.features["hard"]

    def one(i: int) -> tuple[int, str | None]:
        reply = consume(tenant, hard, {"amount": 1, "idempotencyKey": f"race-{i}"})
        return reply.status, None if reply.status == 200 else reply.code

    # WHEN 20 execution environments consume 1 each, with its own key, at the same moment
    statuses = Counter(in_parallel(FN, one, [(i,) for i in range(20)]))
    assert statuses == {(200, None): 10, (403, "QUOTA_EXCEEDED"): 10}
    assert used(tenant, hard) == 10


def test_the_same_key_sent_concurrently_counts_once_and_answers_alike(world: tuple[str, PlanFixture]) -> None:
    tenant, plan = world
    storage = plan.features["storage"]

    def one() -> tuple[int, Any]:
        reply = consume(tenant, storage, {"amount": 4, "idempotencyKey": "same"})
        return reply.status, reply.body

    bodies = in_parallel(FN, one, [()] * 8)
    assert {status for status, _ in bodies} == {200}
    assert all(body == bodies[0][1] for _, body in bodies) and bodies[0][1]["used"] == 4
    assert used(tenant, storage) == 4


def test_budget_keyed_consume_is_one_getitem_and_one_transaction(world: tuple[str, PlanFixture]) -> None:
    tenant, plan = world
    calls: Counter[str] = Counter()
    dynamodb_client().meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.update([model.name]), unique_id="count-calls"
    )
    try:
        EntitlementService(GrantStore()).consume(tenant, plan.features["api_calls"], 1, idempotency_key="b-1")
        assert calls == {"GetItem": 1, "TransactWriteItems": 1}
        calls.clear()
        EntitlementService(GrantStore()).consume(tenant, plan.features["api_calls"], 1)
        assert calls == {"UpdateItem": 1}
    finally:
        dynamodb_client().meta.events.unregister("before-call.dynamodb.*", unique_id="count-calls")
