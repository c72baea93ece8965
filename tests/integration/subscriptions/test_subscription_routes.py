"""subscriptions_api in-process against moto server: routes, roles, plan change, snapshot, grants."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.platform.auth import Role
from meterplex.platform.clock import FixedClock
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import PlanFixture, build_plan
from tests.integration.catalog.handlers import admin, api_key, call, in_parallel, serialize_moto_writes, user

pytestmark = pytest.mark.usefixtures("moto_endpoint", "linearizable_moto")
FN = "subscriptions_api"
HOT = "entitlements_api"


@pytest.fixture(scope="module")
def linearizable_moto() -> None:
    serialize_moto_writes()


def tenant() -> str:
    return str(uuid.uuid4())


def plan(limit: int = 10) -> PlanFixture:
    return build_plan(
        {
            "api": ("QUOTA", {"limit": limit}),
            "sso": ("BOOLEAN", {"value": True}),
            "storage": ("METERED", {"includedAmount": 5, "overagePrice": 200}),
        }
    )


def subscribe(t: str, p: PlanFixture, **extra: object):  # type: ignore[no-untyped-def]
    owner = user({t: Role.OWNER})
    body = {"planId": p.id, "priceId": p.monthly_price_id, **extra}
    return call(FN, "POST", "/api/v1/subscriptions", body, principal=owner, tenant=t)


def test_subscribe_201_then_active_and_history() -> None:
    t, p = tenant(), plan()
    reply = subscribe(t, p)
    assert reply.status == 201 and reply.body["status"] == "ACTIVE"
    assert {e["featureKey"] for e in reply.body["entitlements"]} == set(p.features.values())
    member = user({t: Role.DEVELOPER})
    assert (
        call(FN, "GET", "/api/v1/subscriptions/active", principal=member, tenant=t).body["id"]
        == reply.body["id"]
    )
    assert (
        call(FN, "GET", "/api/v1/subscriptions/active", principal=api_key(t)).body["id"] == reply.body["id"]
    )
    history = call(FN, "GET", "/api/v1/subscriptions", principal=member, tenant=t).body
    assert [s["id"] for s in history["data"]] == [reply.body["id"]]


def test_active_without_subscription_is_404() -> None:
    t = tenant()
    reply = call(FN, "GET", "/api/v1/subscriptions/active", principal=user({t: Role.OWNER}), tenant=t)
    assert (reply.status, reply.code) == (404, "NO_ACTIVE_SUBSCRIPTION")


def test_subscribe_needs_owner_or_admin_and_membership() -> None:
    t, p = tenant(), plan()
    body = {"planId": p.id, "priceId": p.monthly_price_id}
    assert call(FN, "POST", "/api/v1/subscriptions", body).status == 401
    dev = call(FN, "POST", "/api/v1/subscriptions", body, principal=user({t: Role.DEVELOPER}), tenant=t)
    assert (dev.status, dev.code) == (403, "INSUFFICIENT_ROLE")
    stranger = call(
        FN, "POST", "/api/v1/subscriptions", body, principal=user({tenant(): Role.OWNER}), tenant=t
    )
    assert stranger.status == 403
    assert call(FN, "POST", "/api/v1/subscriptions", body, principal=api_key(t)).status == 403
    assert (
        call(FN, "POST", "/api/v1/subscriptions", body, principal=user({t: Role.ADMIN}), tenant=t).status
        == 201
    )


def test_subscribe_validation_and_missing_plan_or_price() -> None:
    t, p = tenant(), plan()
    owner = user({t: Role.OWNER})
    bad = call(
        FN, "POST", "/api/v1/subscriptions", {"planId": p.id, "trialDays": 91}, principal=owner, tenant=t
    )
    assert bad.status == 400 and {"priceId", "trialDays"} <= bad.fields()
    missing = call(
        FN, "POST", "/api/v1/subscriptions", {"planId": "nope", "priceId": "x"}, principal=owner, tenant=t
    )
    assert missing.code == "PLAN_NOT_FOUND"
    wrong = call(
        FN, "POST", "/api/v1/subscriptions", {"planId": p.id, "priceId": "x"}, principal=owner, tenant=t
    )
    assert wrong.code == "PRICE_NOT_FOUND"


def test_snapshot_unchanged_after_catalog_edit() -> None:
    t, p = tenant(), plan(limit=10)
    subscribe(t, p)
    call(
        "catalog_api",
        "PATCH",
        f"/api/v1/plans/{p.id}/entitlements/{p.entitlement_ids['api']}",
        {"limit": 99},
        principal=admin(),
    )
    member = user({t: Role.DEVELOPER})
    active = call(FN, "GET", "/api/v1/subscriptions/active", principal=member, tenant=t).body
    assert next(e for e in active["entitlements"] if e["featureKey"] == p.features["api"])["limit"] == 10
    check = call(
        HOT, "GET", f"/api/v1/entitlements/{p.features['api']}/check", principal=member, tenant=t
    ).body
    assert check["limit"] == 10


def test_plan_change_cancels_old_with_final_bill_and_swaps_grants() -> None:
    t = tenant()
    old_plan, new_plan = plan(limit=10), build_plan({"only": ("QUOTA", {"limit": 3})}, monthly=9900)
    old = subscribe(t, old_plan).body
    member = user({t: Role.DEVELOPER})
    call(
        HOT,
        "POST",
        f"/api/v1/entitlements/{old_plan.features['api']}/consume",
        {"amount": 4},
        principal=member,
        tenant=t,
    )
    new = subscribe(t, new_plan).body
    history = call(FN, "GET", "/api/v1/subscriptions", principal=member, tenant=t).body["data"]
    assert [s["id"] for s in history] == [new["id"], old["id"]]
    replaced = history[1]
    assert (replaced["status"], replaced["replacedBy"]) == ("CANCELLED", new["id"])
    assert replaced["finalBill"]["priceAmount"] == 2900 and replaced["finalBill"]["billable"] is True
    gone = call(
        HOT, "GET", f"/api/v1/entitlements/{old_plan.features['api']}/check", principal=member, tenant=t
    )
    assert gone.body["type"] == "UNKNOWN"
    assert (
        call(
            HOT, "GET", f"/api/v1/entitlements/{new_plan.features['only']}/check", principal=member, tenant=t
        ).body["limit"]
        == 3
    )
    stale = call(
        FN, "POST", f"/api/v1/subscriptions/{old['id']}/cancel", principal=user({t: Role.OWNER}), tenant=t
    )
    assert (stale.status, stale.code) == (409, "SUBSCRIPTION_NOT_ACTIVE")


def test_trial_subscription_is_trialing_with_trial_end() -> None:
    t, p = tenant(), plan()
    reply = subscribe(t, p, trialDays=14).body
    assert reply["status"] == "TRIALING" and reply["trialEndsAt"] == reply["currentPeriodEnd"]


def test_trial_becomes_active_at_trial_end_against_the_real_repository() -> None:
    # GIVEN a 14-day trial started on Jan 31
    t, p = tenant(), plan()
    clock = FixedClock(datetime(2026, 1, 31, 12, tzinfo=UTC))
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock)
    service.subscribe(t, plan_id=p.id, price_id=p.monthly_price_id, trial_days=14)
    # WHEN the trial ends
    clock.set(datetime(2026, 2, 14, 12, tzinfo=UTC) + timedelta(seconds=1))
    active = service.active(t)
    # THEN it is ACTIVE with its first paid period starting at trialEndsAt
    assert active.status.value == "ACTIVE"
    assert (active.current_period_start, active.current_period_end) == (
        datetime(2026, 2, 14, 12, tzinfo=UTC),
        datetime(2026, 3, 14, 12, tzinfo=UTC),
    )


def test_periods_jan31_feb28_mar31_against_the_real_repository() -> None:
    t, p = tenant(), plan()
    clock = FixedClock(datetime(2026, 1, 31, 9, tzinfo=UTC))
    service = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock)
    service.subscribe(t, plan_id=p.id, price_id=p.monthly_price_id)
    assert service.active(t).current_period_end == datetime(2026, 2, 28, 9, tzinfo=UTC)
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    assert (service.active(t).current_period_start, service.active(t).current_period_end) == (
        datetime(2026, 2, 28, 9, tzinfo=UTC),
        datetime(2026, 3, 31, 9, tzinfo=UTC),
    )


def test_cancel_now_and_at_period_end() -> None:
    t, p = tenant(), plan()
    owner = user({t: Role.OWNER})
    sub = subscribe(t, p).body
    ending = call(
        FN,
        "POST",
        f"/api/v1/subscriptions/{sub['id']}/cancel",
        {"atPeriodEnd": True},
        principal=owner,
        tenant=t,
    )
    assert (ending.status, ending.body["status"], ending.body["cancelAtPeriodEnd"]) == (200, "ACTIVE", True)
    assert ending.body["endedAt"] == sub["currentPeriodEnd"]
    now = call(FN, "POST", f"/api/v1/subscriptions/{sub['id']}/cancel", principal=owner, tenant=t)
    assert (now.status, now.body["status"]) == (200, "CANCELLED")
    assert now.body["finalBill"]["cancelledAt"] == now.body["cancelledAt"]
    assert call(FN, "GET", "/api/v1/subscriptions/active", principal=owner, tenant=t).status == 404
    check = call(HOT, "GET", f"/api/v1/entitlements/{p.features['sso']}/check", principal=owner, tenant=t)
    assert check.body["allowed"] is False


def test_cancel_roles_and_unknown_or_foreign_subscription() -> None:
    t, p = tenant(), plan()
    sub = subscribe(t, p).body
    url = f"/api/v1/subscriptions/{sub['id']}/cancel"
    assert call(FN, "POST", url, principal=user({t: Role.BILLING}), tenant=t).status == 403
    assert call(FN, "POST", url).status == 401
    other = tenant()
    assert call(FN, "POST", url, principal=user({other: Role.OWNER}), tenant=other).status == 404
    bad = call(FN, "POST", url, {"atPeriodEnd": "soon"}, principal=user({t: Role.OWNER}), tenant=t)
    assert bad.status == 400 and "atPeriodEnd" in bad.fields()


def test_second_subscribe_race_leaves_exactly_one_live_subscription() -> None:
    t, p = tenant(), plan()
    # WHEN five execution environments subscribe the tenant at the same moment
    results = in_parallel(FN, lambda: subscribe(t, p).status, [()] * 5)
    member = user({t: Role.DEVELOPER})
    history = call(FN, "GET", "/api/v1/subscriptions", principal=member, tenant=t).body["data"]
    live = [s for s in history if s["status"] in ("ACTIVE", "TRIALING")]
    assert len(live) == 1
    assert all(code in (201, 409) for code in results)
