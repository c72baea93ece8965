"""GET /admin/overview (issue 13, ADR 0092) in-process over moto: each figure moves by exactly what
the test did (other tests share the tables, so the test compares before and after); the last
reconciliation is the run the test asked for, once the reconciler has finished it."""

from __future__ import annotations

import uuid
from typing import Any

from tests.integration.admin.support import dead_letter_of_an_ignored_event
from tests.integration.admin.test_audit_every_write import World
from tests.integration.identity.conftest import register
from tests.integration.usage.helpers import event, send, subscribed
from tests.support.waiting import wait_for

OVERVIEW = "/api/v1/admin/overview"


def money(figures: list[dict[str, Any]], currency: str = "usd") -> int:
    return next((m["amount"] for m in figures if m["currency"] == currency), 0)


def plan_count(overview: dict[str, Any], plan_id: str) -> int:
    return next((p["count"] for p in overview["activeSubscriptionsByPlan"] if p["planId"] == plan_id), 0)


def test_overview_counts_what_happened(moto_endpoint: str, lambda_api: str) -> None:
    world = World()
    read = lambda: world.admin.get(OVERVIEW).body  # noqa: E731
    before = read()

    # GIVEN a new tenant on a monthly plan (2,900) and one on the annual price (27,800 → 2,317/month)
    owner, sub = world.subscribed()
    catalog = world.plan()
    annual = world.admin.post(
        f"/api/v1/plans/{catalog['plan']['id']}/prices",
        {"interval": "ANNUALLY", "amount": 27800, "currency": "usd"},
    ).body
    yearly = register()
    assert (
        yearly.post(
            "/api/v1/subscriptions",
            {"planId": catalog["plan"]["id"], "priceId": annual["id"]},
            tenant=yearly.tenant_id,
        ).status
        == 201
    )
    # AND a finalized invoice (outstanding, not yet due), a suspended tenant, 3 accepted usage events
    invoice = owner.post("/api/v1/invoices/generate", {}, tenant=owner.tenant_id).body
    finalized = owner.post(f"/api/v1/invoices/{invoice['id']}/finalize", tenant=owner.tenant_id).body
    suspended = register()
    assert world.admin.patch(f"/api/v1/tenants/{suspended.tenant_id}", {"status": "SUSPENDED"}).status == 200
    usage = subscribed()
    reply = send(usage.tenant, [event(f"e-{uuid.uuid4().hex}", usage.key("calls")) for _ in range(3)])
    assert reply.body["accepted"] == 3
    dead_letter_of_an_ignored_event()

    after = read()
    # THEN every figure moved by exactly that
    assert (
        after["tenantsByStatus"]["ACTIVE"] - before["tenantsByStatus"]["ACTIVE"] == 3
    )  # owner, yearly, (suspended − 1) + 1
    assert after["tenantsByStatus"]["SUSPENDED"] - before["tenantsByStatus"]["SUSPENDED"] == 1
    assert plan_count(after, sub["planId"]) == 1
    assert plan_count(after, catalog["plan"]["id"]) == 1
    usage_plan = usage.plan.id
    assert plan_count(after, usage_plan) == 1
    assert money(after["mrr"]) - money(before["mrr"]) == 2900 + 2317 + 2900  # 27,800 / 12 = 2,316.67
    assert after["usageAcceptedToday"] - before["usageAcceptedToday"] == 3
    outstanding = after["invoicesOutstanding"]
    assert outstanding["count"] - before["invoicesOutstanding"]["count"] == 1
    assert (
        money(outstanding["amounts"]) - money(before["invoicesOutstanding"]["amounts"]) == finalized["total"]
    )
    assert after["invoicesOverdue"] == before["invoicesOverdue"]  # due in 30 days
    assert after["deadLettersOpen"] - before["deadLettersOpen"] == 1


def test_overview_shows_the_last_reconciliation_once_it_has_run(moto_endpoint: str, lambda_api: str) -> None:
    # GIVEN a reconciliation run asked for by an admin (one tenant), run by the real reconciler
    world = World()
    tenant = register().tenant_id
    requested = world.admin.post("/api/v1/admin/reconciliation/run", {"tenantId": tenant})
    assert requested.status == 202 and requested.body["status"] == "RUNNING", requested.body
    run_id = requested.body["id"]
    # THEN once the reconciler has finished it, the overview shows it with what it found
    wait_for(lambda: finished(world, run_id), timeout=120, interval=0.2)
    last = world.admin.get(OVERVIEW).body["lastReconciliation"]
    assert (last["id"], last["status"], last["tenantId"], last["trigger"]) == (
        run_id,
        "COMPLETED",
        tenant,
        "MANUAL",
    )
    assert last["finishedAt"] and last["stats"]["tenants"] == 1 and last["stats"]["openIssues"] == 0


def finished(world: World, run_id: str) -> bool:
    reply = world.admin.get("/api/v1/admin/reconciliation/runs", query={"limit": 20})
    assert reply.status == 200, (reply.status, reply.body)
    runs = reply.body["data"]
    return any(r["id"] == run_id and r["status"] != "RUNNING" for r in runs)


def test_overview_is_for_platform_admins_only(moto_endpoint: str) -> None:
    assert register().get(OVERVIEW).status == 403
