"""`GET /tenants/me/context` shows the tenant's live subscription (identity asks subscriptions)."""

from __future__ import annotations

import pytest

from meterplex.platform.auth import Role
from tests.integration.catalog.builders import build_plan
from tests.integration.catalog.handlers import call, user
from tests.integration.identity.conftest import register

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def test_tenant_context_summarises_the_live_subscription() -> None:
    account = register()
    context = account.get("/api/v1/tenants/me/context", tenant=account.tenant_id)
    assert context.status == 200 and context.body["subscription"] is None

    plan = build_plan({"api": ("QUOTA", {"limit": 10})})
    subscribed = call(
        "subscriptions_api",
        "POST",
        "/api/v1/subscriptions",
        {"planId": plan.id, "priceId": plan.monthly_price_id},
        principal=user({account.tenant_id: Role.OWNER}),
        tenant=account.tenant_id,
    )
    assert subscribed.status == 201

    summary = account.get("/api/v1/tenants/me/context", tenant=account.tenant_id).body["subscription"]
    assert summary["id"] == subscribed.body["id"] and summary["status"] == "ACTIVE"
    assert summary["planId"] == plan.id and summary["currentPeriodEnd"].endswith("Z")
