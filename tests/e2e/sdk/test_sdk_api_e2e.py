"""The SDK's API methods over real HTTP against the local cloud: identity, catalog reads,
subscriptions and the hot path, sync and async, typed errors from the real envelope."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from meterplex_client import (
    AsyncMeterplex,
    AuthenticationError,
    EntitlementCache,
    Meterplex,
    NotFoundError,
    QuotaExceededError,
)
from meterplex_client.models import Member
from tests.support.sdk_tenants import QUOTA_LIMIT, SdkPlan, SdkTenant


def test_sdk_identity_flows_with_jwt_and_api_keys(
    new_tenant: Callable[[], SdkTenant], sdk_owner: Meterplex
) -> None:
    tenant = new_tenant()
    member = tenant.member()
    me = member.auth.me()
    assert me.email == sdk_owner.auth.me().email
    mine = member.tenants.list(limit=100)
    assert tenant.tenant_id in {t.id for t in mine.data} and mine.meta.total is not None
    found = member.tenants.get(tenant.tenant_id)
    assert member.tenants.get_by_slug(found.slug).id == tenant.tenant_id
    context = member.tenants.context()
    assert context.tenant.id == tenant.tenant_id and context.role == "OWNER" and context.auth_type == "jwt"

    created = member.api_keys.create("rotating", expires_in_days=1)
    assert created.key.startswith("mp_live_") and created.status == "ACTIVE"
    assert created.id in {k.id for k in member.api_keys.list().data}
    with Meterplex(api_key=created.key, base_url=tenant.url) as keyed:
        assert keyed.tenants.context().auth_type == "api_key"
        assert member.api_keys.revoke(created.id).status == "REVOKED"
        # a write with the revoked key is refused at once (the write guard re-checks it; plain
        # reads may be served from the authorizer cache for its TTL: docs/architecture.md)
        event = {"feature": tenant.plan.flag, "amount": 1, "timestamp": datetime.now(UTC)}
        with pytest.raises(AuthenticationError) as raised:
            keyed.usage.send([{**event, "eventId": uuid.uuid4().hex}])
    assert raised.value.status_code == 401 and raised.value.correlation_id


def test_sdk_login_and_refresh_rotate_the_session(sdk_plan: SdkPlan, sdk_owner: Meterplex) -> None:
    # a user of its own: reuse detection below revokes every session of that user
    email = f"sdk-login-{uuid.uuid4().hex[:8]}@example.com"
    added = sdk_owner.users.create(email=email, password="DevPass123", first_name="L", last_name="In")
    assert isinstance(added, Member) and added.role == "DEVELOPER"
    rotated: list[tuple[str, str]] = []
    with Meterplex(base_url=sdk_plan.url, on_tokens=lambda a, r: rotated.append((a, r))) as mp:
        login = mp.auth.login(email, "DevPass123")
        pair = mp.auth.refresh()
        assert pair.refresh_token != login.refresh_token
        assert mp.auth.me().email == email  # authenticated with the rotated access token
        with pytest.raises(AuthenticationError):
            mp.auth.refresh(login.refresh_token)  # the old one was revoked (reuse detection)
    assert [r for _, r in rotated][:2] == [login.refresh_token, pair.refresh_token]


def test_sdk_catalog_reads_and_subscriptions(new_tenant: Callable[[], SdkTenant]) -> None:
    tenant = new_tenant()
    with Meterplex(base_url=tenant.url) as anonymous:  # plan and price reads are public
        plan = anonymous.plans.get(tenant.plan.plan_id)
        assert anonymous.plans.get_by_slug(plan.slug).id == plan.id
        assert [p.amount for p in anonymous.prices.list(plan.id).data] == [1900]
        assert plan.id in {p.id for p in anonymous.plans.list(limit=100).data}
    member = tenant.member()
    assert member.features.get_by_key(tenant.plan.metered).type == "METERED"
    assert {e.feature_lookup_key for e in member.plan_entitlements.list(plan.id).data} >= {tenant.plan.flag}
    active = member.subscriptions.active()
    assert active.plan_id == plan.id and active.status == "ACTIVE"
    assert [s.id for s in member.subscriptions.list().data] == [active.id]


def test_sdk_hot_path_check_consume_and_typed_quota_error(new_tenant: Callable[[], SdkTenant]) -> None:
    tenant = new_tenant()
    with tenant.client(entitlement_cache=EntitlementCache(ttl_s=60)) as mp:
        flag = mp.entitlements.check(tenant.plan.flag)
        assert flag.allowed and flag.type == "BOOLEAN" and not flag.cached
        assert mp.entitlements.check(tenant.plan.flag).cached
        first = mp.entitlements.consume(tenant.plan.quota, 2, idempotency_key="order-1")
        replay = mp.entitlements.consume(tenant.plan.quota, 2, idempotency_key="order-1")
        assert (first.used, replay.used) == (2, 2)  # the repeated key counted nothing
        mp.entitlements.consume(tenant.plan.quota, QUOTA_LIMIT - 2)
        with pytest.raises(QuotaExceededError) as raised:
            mp.entitlements.consume(tenant.plan.quota, 1)
        assert raised.value.code == "QUOTA_EXCEEDED" and raised.value.correlation_id
        check = mp.entitlements.check(tenant.plan.quota)
        assert (check.used, check.remaining, check.allowed) == (QUOTA_LIMIT, 0, False)
        with pytest.raises(NotFoundError) as missing:
            mp.entitlements.consume("not_in_this_plan")
        assert missing.value.code == "FEATURE_NOT_IN_PLAN"


@pytest.mark.anyio
async def test_async_client_over_http(new_tenant: Callable[[], SdkTenant]) -> None:
    tenant = new_tenant()
    async with AsyncMeterplex(api_key=tenant.api_key, base_url=tenant.url) as mp:
        check = await mp.entitlements.check(tenant.plan.metered)
        result = await mp.usage.send(
            [
                {
                    "eventId": "async-1",
                    "feature": tenant.plan.metered,
                    "amount": 3,
                    "timestamp": datetime.now(UTC),
                }
            ]
        )
    assert check.allowed and check.type == "METERED"
    assert (result.accepted, result.events[0].status) == (1, "accepted")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
