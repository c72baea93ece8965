"""Finding 2 (SPEC §4): a trial at most once per tenant, a plan change during a trial starts paid,
private plans only by a platform admin acting for the tenant."""

from __future__ import annotations

import uuid

import pytest

from meterplex.platform.auth import Role
from tests.integration.catalog.builders import PlanFixture, build_plan
from tests.integration.catalog.handlers import admin, call, serialize_moto_writes, user

pytestmark = pytest.mark.usefixtures("moto_endpoint", "linearizable_moto")
FN = "subscriptions_api"
SUBS = "/api/v1/subscriptions"


@pytest.fixture(scope="module")
def linearizable_moto() -> None:
    serialize_moto_writes()


def plan(monthly: int = 2900) -> PlanFixture:
    return build_plan({"api": ("QUOTA", {"limit": 10})}, monthly=monthly)


def subscribe(tenant: str, p: PlanFixture, principal=None, **extra: object):  # type: ignore[no-untyped-def]
    body = {"planId": p.id, "priceId": p.monthly_price_id, **extra}
    return call(FN, "POST", SUBS, body, principal=principal or user({tenant: Role.OWNER}), tenant=tenant)


def test_a_second_trial_is_refused_with_trial_already_used() -> None:
    t, p = str(uuid.uuid4()), plan()
    owner = user({t: Role.OWNER})
    assert subscribe(t, p, owner, trialDays=14).body["status"] == "TRIALING"
    # WHEN the tenant asks for a new 90-day trial during its trial
    again = subscribe(t, p, owner, trialDays=90)
    # THEN it is refused, and the first trial is still the live subscription
    assert (again.status, again.code) == (409, "TRIAL_ALREADY_USED")
    active = call(FN, "GET", f"{SUBS}/active", principal=owner, tenant=t).body
    assert active["status"] == "TRIALING"
    assert len(call(FN, "GET", SUBS, principal=owner, tenant=t).body["data"]) == 1


def test_a_plan_change_during_a_trial_ends_it_and_starts_paid() -> None:
    t, trial_plan, bigger = str(uuid.uuid4()), plan(), plan(monthly=9900)
    owner = user({t: Role.OWNER})
    first = subscribe(t, trial_plan, owner, trialDays=14).body
    changed = subscribe(t, bigger, owner)
    assert (
        changed.status == 201 and changed.body["status"] == "ACTIVE" and changed.body["trialEndsAt"] is None
    )
    replaced = next(
        s for s in call(FN, "GET", SUBS, principal=owner, tenant=t).body["data"] if s["id"] == first["id"]
    )
    assert (
        replaced["status"] == "CANCELLED" and replaced["finalBill"]["billable"] is False
    )  # the trial was free
    # the trial stays used, after cancelling everything too
    call(FN, "POST", f"{SUBS}/{changed.body['id']}/cancel", principal=owner, tenant=t)
    assert subscribe(t, trial_plan, owner, trialDays=7).code == "TRIAL_ALREADY_USED"


def test_a_first_trial_after_paid_subscriptions_is_granted_once() -> None:
    t, p = str(uuid.uuid4()), plan()
    owner = user({t: Role.OWNER})
    assert subscribe(t, p, owner).status == 201
    assert subscribe(t, p, owner, trialDays=14).body["status"] == "TRIALING"  # the collection's flow
    assert subscribe(t, p, owner, trialDays=14).code == "TRIAL_ALREADY_USED"


def private_plan() -> PlanFixture:
    p = plan()
    reply = call("catalog_api", "PATCH", f"/api/v1/plans/{p.id}", {"isPublic": False}, principal=admin())
    assert reply.status == 200 and reply.body["isPublic"] is False
    return p


def test_a_private_plan_is_refused_to_the_tenants_owner() -> None:
    t, p = str(uuid.uuid4()), private_plan()
    refused = subscribe(t, p)
    assert (refused.status, refused.code) == (403, "PLAN_NOT_PUBLIC")
    assert call(FN, "GET", f"{SUBS}/active", principal=user({t: Role.OWNER}), tenant=t).status == 404


def test_a_platform_admin_acting_for_the_tenant_subscribes_it_to_a_private_plan() -> None:
    t, p = str(uuid.uuid4()), private_plan()
    user({t: Role.OWNER})  # the tenant exists, the admin is not a member
    created = subscribe(t, p, admin())
    assert created.status == 201, created.body
    member = user({t: Role.DEVELOPER})
    assert call(FN, "GET", f"{SUBS}/active", principal=member, tenant=t).body["planId"] == p.id


def test_a_platform_admin_cannot_act_for_a_tenant_that_does_not_exist() -> None:
    reply = subscribe(str(uuid.uuid4()), private_plan(), admin())
    assert (reply.status, reply.code) == (404, "TENANT_NOT_FOUND")
