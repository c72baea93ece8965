"""SDK e2e fixtures: one plan (METERED, HARD QUOTA, BOOLEAN features) and one owner per session,
set up through the SDK itself; `new_tenant()` gives a test its own subscribed tenant and API key
(tenants are created by the owner, so the register rate limit is never in the way)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from meterplex_client import Meterplex
from tests.support.sdk_tenants import ADMIN, QUOTA_LIMIT, SdkPlan, SdkTenant


@pytest.fixture(scope="session")
def sdk_plan(local_cloud_url: str) -> Iterator[SdkPlan]:
    suffix = uuid.uuid4().hex[:8]
    with Meterplex(base_url=local_cloud_url) as admin:
        admin.auth.login(ADMIN["email"], ADMIN["password"])
        plan = admin.plans.create("SDK", f"sdk-{suffix}")
        price = admin.prices.create(plan.id, interval="MONTHLY", amount=1900)
        metered = admin.features.create("Events", f"sdk_events_{suffix}", "METERED")
        quota = admin.features.create("Seats", f"sdk_seats_{suffix}", "QUOTA")
        flag = admin.features.create("Flag", f"sdk_flag_{suffix}", "BOOLEAN")
        admin.plan_entitlements.create(plan.id, metered.id, included_amount=0, overage_price=1)
        admin.plan_entitlements.create(plan.id, quota.id, limit=QUOTA_LIMIT, limit_behavior="HARD")
        admin.plan_entitlements.create(plan.id, flag.id, value=True)
        yield SdkPlan(
            local_cloud_url, plan.id, price.id, metered.lookup_key, quota.lookup_key, flag.lookup_key
        )


@pytest.fixture(scope="session")
def sdk_owner(sdk_plan: SdkPlan) -> Meterplex:
    suffix = uuid.uuid4().hex[:8]
    owner = Meterplex(base_url=sdk_plan.url)
    owner.auth.register(
        email=f"sdk-{suffix}@example.com",
        password="DevPass123",
        first_name="Sdk",
        last_name="Owner",
        tenant_name="SDK",
        tenant_slug=f"sdk-{suffix}",
    )
    return owner


@pytest.fixture
def new_tenant(sdk_plan: SdkPlan, sdk_owner: Meterplex) -> Callable[[], SdkTenant]:
    def make() -> SdkTenant:
        suffix = uuid.uuid4().hex[:8]
        tenant = sdk_owner.tenants.create(f"SDK {suffix}", f"sdk-t-{suffix}")
        session = sdk_owner.session
        member = Meterplex(
            base_url=sdk_plan.url,
            access_token=session.access_token,
            refresh_token=session.refresh_token,
            tenant_id=tenant.id,
        )
        member.subscriptions.create(sdk_plan.plan_id, sdk_plan.price_id)
        key = member.api_keys.create("sdk e2e").key
        return SdkTenant(
            sdk_plan.url, tenant.id, key, session.access_token or "", session.refresh_token or "", sdk_plan
        )

    return make
