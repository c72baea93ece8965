"""Every write route leaves EXACTLY one audit event (issue 13, ADR 0090).

The test walks `infra.topology.ROUTES`: every POST/PUT/PATCH/DELETE route must have a scenario
here (or be in `NOT_AUDITED`, with the reason). A scenario sets up what the route needs, then
calls it once through the in-process gateway (authorizer, handler) with its own correlation id;
the audit events staged by that one request are counted in the outbox (they reach the trail
through the outbox: counting them there needs no broker). A new write route without a scenario,
or one that records no audit event, or two, fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from infra import topology
from infra.local.aws import REGION
from meterplex.platform.audit import is_audit_event
from meterplex.platform.events import DomainEvent
from tests.integration.admin.support import dead_letter_of_an_ignored_event
from tests.integration.identity.conftest import PASSWORD, Account, register, unique
from tests.support.api_client import ApiClient, Reply

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
V1 = topology.V1

# Write routes that record no audit event, and why (each is covered elsewhere, as said).
NOT_AUDITED: dict[tuple[str, str], str] = {
    ("POST", V1 + "/auth/register"): "creates two resources — a user and its tenant — and records one "
    "audit event for each (test_register_records_the_user_and_the_tenant)",
    ("POST", V1 + "/auth/login"): "a session token, not a change to a resource (rate-limited, logged)",
    ("POST", V1 + "/auth/refresh"): "rotates a session token (reuse detection revokes all: audited there)",
    ("POST", V1 + "/auth/logout"): "revokes one session token: a session, not a resource",
    ("POST", V1 + "/auth/forgot-password"): "answers the same whether or not the email exists; an audit "
    "event per anonymous request would be an amplification vector (the reset itself is audited)",
    ("POST", V1 + "/entitlements/{featureKey}/consume"): "the hot path (SPEC §5: one conditional write): "
    "consumed units are usage, kept with their idempotency key — usage is not a resource change",
    ("POST", V1 + "/usage/events"): "usage itself: each event is stored once with its eventId and the "
    "request's correlation id; the audit trail records changes to resources, not metered usage",
    ("POST", V1 + "/webhooks/stripe"): "a payment provider's notification, verified and stored once "
    "under the provider's event id (its own record); nobody of ours acts",
    ("POST", V1 + "/webhooks/fake"): "the fake provider's notification (local and test stages): as Stripe's",
}


@dataclass
class Act:
    reply: Reply
    correlation_id: str


class World:
    """The people every scenario may use, and the one measured call (`act`)."""

    def __init__(self) -> None:
        from meterplex.identity.bootstrap import ensure_platform_admin

        email = f"{unique('auditadmin')}@example.com"
        ensure_platform_admin(email, PASSWORD)
        client = ApiClient()
        login = client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).body
        self.admin = Account(
            client, email, login["user"]["id"], "", login["accessToken"], login["refreshToken"]
        )

    def act(
        self, account: Account, method: str, path: str, body: Any = None, *, tenant: str | None = None
    ) -> Act:
        correlation_id = f"audit-walk-{uuid.uuid4()}"
        reply = account.client.request(
            method,
            path,
            body,
            token=account.access,
            tenant=tenant,
            headers={"x-correlation-id": correlation_id},
        )
        return Act(reply, correlation_id)

    # -- set-ups ---------------------------------------------------------------------------
    def plan(self, *, monthly: int = 2900) -> dict[str, Any]:
        """A public plan with a monthly price and a METERED entitlement."""
        plan = self.admin.post("/api/v1/plans", {"name": "Audit", "slug": unique("audit-plan")}).body
        price = self.admin.post(
            f"/api/v1/plans/{plan['id']}/prices",
            {"interval": "MONTHLY", "amount": monthly, "currency": "usd"},
        ).body
        feature = self.feature()
        ent = self.admin.post(
            f"/api/v1/plans/{plan['id']}/entitlements",
            {"featureId": feature["id"], "includedAmount": 10, "overagePrice": 100},
        ).body
        return {"plan": plan, "price": price, "feature": feature, "entitlement": ent}

    def feature(self) -> dict[str, Any]:
        key = unique("audit_f").replace("-", "_")
        body = {"name": "F", "lookupKey": key, "type": "METERED"}
        reply = self.admin.post("/api/v1/features", body)
        assert reply.status == 201, reply.body
        return reply.body

    def subscribed(self) -> tuple[Account, dict[str, Any]]:
        owner = register()
        catalog = self.plan()
        reply = owner.post(
            "/api/v1/subscriptions",
            {"planId": catalog["plan"]["id"], "priceId": catalog["price"]["id"]},
            tenant=owner.tenant_id,
        )
        assert reply.status == 201, reply.body
        return owner, reply.body

    def draft(self) -> tuple[Account, dict[str, Any]]:
        owner, _ = self.subscribed()
        reply = owner.post("/api/v1/invoices/generate", {}, tenant=owner.tenant_id)
        assert reply.status == 201, reply.body
        return owner, reply.body

    def invitation(self) -> tuple[Account, str]:
        owner, invitee = register(), register()
        reply = owner.post(
            "/api/v1/users",
            {"email": invitee.email, "password": PASSWORD, "firstName": "I", "lastName": "Nvited"},
            tenant=owner.tenant_id,
        )
        assert reply.status == 202, reply.body
        return invitee, reply.body["invitationId"]


def new_member(owner: Account) -> str:
    reply = owner.post(
        "/api/v1/users",
        {"email": f"{unique('m')}@example.com", "password": PASSWORD, "firstName": "M", "lastName": "Ember"},
        tenant=owner.tenant_id,
    )
    assert reply.status == 201, reply.body
    return str(reply.body["id"])


def _reset_password(w: World) -> Act:
    from meterplex.identity import tokens
    from meterplex.identity.repository import IdentityRepository
    from meterplex.platform.clock import system_clock

    account = register()
    token = tokens.new_reset_token()
    IdentityRepository().save_reset_token(
        tokens.sha256_hex(token), account.user_id, system_clock.now() + timedelta(minutes=5)
    )
    anonymous = Account(ApiClient(), "", "", "", "", "")
    return w.act(
        anonymous, "POST", V1 + "/auth/reset-password", {"token": token, "newPassword": "NewPass4567"}
    )


def _accept(w: World) -> Act:
    invitee, invitation = w.invitation()
    return w.act(invitee, "POST", f"{V1}/users/me/invitations/{invitation}/accept")


def _decline(w: World) -> Act:
    invitee, invitation = w.invitation()
    return w.act(invitee, "POST", f"{V1}/users/me/invitations/{invitation}/decline")


def _remove_member(w: World) -> Act:
    owner = register()
    member = new_member(owner)
    return w.act(owner, "DELETE", f"{V1}/tenants/{owner.tenant_id}/members/{member}", tenant=owner.tenant_id)


def _revoke_key(w: World) -> Act:
    owner = register()
    key = owner.post("/api/v1/api-keys", {"name": "k"}, tenant=owner.tenant_id).body
    return w.act(owner, "DELETE", f"{V1}/api-keys/{key['id']}", tenant=owner.tenant_id)


def _patch_plan(w: World) -> Act:
    plan = w.plan()["plan"]
    return w.act(w.admin, "PATCH", f"{V1}/plans/{plan['id']}", {"name": "Renamed"})


def _add_price(w: World) -> Act:
    plan = w.plan()["plan"]
    body = {"interval": "ANNUALLY", "amount": 27800, "currency": "usd"}
    return w.act(w.admin, "POST", f"{V1}/plans/{plan['id']}/prices", body)


def _deactivate_price(w: World) -> Act:
    catalog = w.plan()
    path = f"{V1}/plans/{catalog['plan']['id']}/prices/{catalog['price']['id']}"
    return w.act(w.admin, "PATCH", path, {"isActive": False})


def _patch_feature(w: World) -> Act:
    return w.act(w.admin, "PATCH", f"{V1}/features/{w.feature()['id']}", {"name": "Renamed"})


def _add_entitlement(w: World) -> Act:
    plan, feature = w.plan()["plan"], w.feature()
    body = {"featureId": feature["id"], "includedAmount": 5, "overagePrice": 10}
    return w.act(w.admin, "POST", f"{V1}/plans/{plan['id']}/entitlements", body)


def _entitlement_path(w: World) -> str:
    catalog = w.plan()
    return f"{V1}/plans/{catalog['plan']['id']}/entitlements/{catalog['entitlement']['id']}"


def _subscribe(w: World) -> Act:
    owner, catalog = register(), w.plan()
    body = {"planId": catalog["plan"]["id"], "priceId": catalog["price"]["id"]}
    return w.act(owner, "POST", f"{V1}/subscriptions", body, tenant=owner.tenant_id)


def _cancel(w: World) -> Act:
    owner, sub = w.subscribed()
    return w.act(owner, "POST", f"{V1}/subscriptions/{sub['id']}/cancel", {}, tenant=owner.tenant_id)


def _generate(w: World) -> Act:
    owner, _ = w.subscribed()
    return w.act(owner, "POST", f"{V1}/invoices/generate", {}, tenant=owner.tenant_id)


def _invoice_step(step: str, *before: str) -> Callable[[World], Act]:
    def scenario(w: World) -> Act:
        owner, invoice = w.draft()
        for earlier in before:
            done = owner.post(f"/api/v1/invoices/{invoice['id']}/{earlier}", tenant=owner.tenant_id)
            assert done.status == 200, done.body
        return w.act(owner, "POST", f"{V1}/invoices/{invoice['id']}/{step}", tenant=owner.tenant_id)

    return scenario


def _clock(step: str) -> Callable[[World], Act]:
    def scenario(w: World) -> Act:
        body = {"hours": 1} if step == "advance" else None
        try:
            return w.act(w.admin, "POST", f"{V1}/admin/clock/{step}", body)
        finally:
            w.admin.post("/api/v1/admin/clock/reset")

    return scenario


def _dead_letter(step: str) -> Callable[[World], Act]:
    def scenario(w: World) -> Act:
        id_ = dead_letter_of_an_ignored_event()
        body = {"reason": "not needed"} if step == "discard" else None
        return w.act(w.admin, "POST", f"{V1}/admin/dead-letter/{id_}/{step}", body)

    return scenario


def _refund(w: World) -> Act:
    """A PAID invoice through the (fake) provider, refunded by its tenant's OWNER (handler call with
    the gateway's principal, as the payments tests build such a tenant)."""
    from tests.integration.catalog.handlers import call
    from tests.integration.payments.test_payments_routes import _tenant_with_payments

    _, invoice_id, _, owner = _tenant_with_payments("succeed")
    correlation_id = f"audit-walk-{uuid.uuid4()}"
    reply = call(
        "payments_api",
        "POST",
        f"{V1}/invoices/{invoice_id}/refund",
        {"amount": 100},
        headers={"x-correlation-id": correlation_id},
        **owner,
    )
    return Act(reply, correlation_id)


def _webhook_endpoint(owner: Account) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", "eventTypes": ["invoice.finalized"]}
    reply = owner.post("/api/v1/webhook-endpoints", body, tenant=owner.tenant_id)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def _webhooks(step: str) -> Callable[[World], Act]:
    """An endpoint of a new tenant's OWNER, then one write of it (`{id}`: the endpoint; a delivery
    retried is that endpoint's test event)."""
    method, path = {
        "create": ("POST", ""),
        "update": ("PATCH", "/{id}"),
        "delete": ("DELETE", "/{id}"),
        "rotate": ("POST", "/{id}/rotate-secret"),
        "test": ("POST", "/{id}/test"),
        "retry": ("POST", "/{id}/deliveries/{delivery}/retry"),
    }[step]

    def scenario(w: World) -> Act:
        owner = register()
        base = V1 + "/webhook-endpoints"
        if step == "create":
            body = {"url": "http://127.0.0.1:9/hook", "eventTypes": ["invoice.paid"]}
            return w.act(owner, method, base, body, tenant=owner.tenant_id)
        endpoint_id = _webhook_endpoint(owner)["id"]
        delivery = ""
        if step == "retry":
            sent = owner.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test", tenant=owner.tenant_id)
            assert sent.status == 202, sent.body
            delivery = sent.body["deliveryId"]
        where = base + path.replace("{id}", endpoint_id).replace("{delivery}", delivery)
        body = {"description": "renamed"} if step == "update" else None
        return w.act(owner, method, where, body, tenant=owner.tenant_id)

    return scenario


def _reconciliation_run(w: World) -> Act:
    """An on-demand run for one new tenant. The reconciler really runs (Lambda `Event`, in the
    background): for a tenant with no usage it re-drives nothing, so other tests' data is untouched."""
    return w.act(w.admin, "POST", f"{V1}/admin/reconciliation/run", {"tenantId": register().tenant_id})


def _reconciliation_issue(step: str) -> Callable[[World], Act]:
    def scenario(w: World) -> Act:
        from tests.integration.reconciliation.test_reconciliation_routes import stored_run

        _, (issue,) = stored_run(1)
        path = f"{V1}/admin/reconciliation/issues/{issue.id}/{step}"
        return w.act(w.admin, "POST", path, {"notes": f"{step}d by the audit walk"})

    return scenario


def _own(method: str, path: str, body: Any = None, *, tenant: bool = False) -> Callable[[World], Act]:
    """A write the caller does to itself or its own tenant (`{id}` = the tenant, `{self}` = itself)."""

    def scenario(w: World) -> Act:
        account = register()
        where = path.replace("{id}", account.tenant_id).replace("{self}", account.user_id)
        return w.act(account, method, where, body, tenant=account.tenant_id if tenant else None)

    return scenario


SCENARIOS: dict[tuple[str, str], Callable[[World], Act]] = {
    ("POST", V1 + "/auth/reset-password"): _reset_password,
    ("POST", V1 + "/auth/change-password"): _own(
        "POST", V1 + "/auth/change-password", {"currentPassword": PASSWORD, "newPassword": "NewPass4567"}
    ),
    ("POST", V1 + "/auth/revoke-all"): _own("POST", V1 + "/auth/revoke-all"),
    ("POST", V1 + "/tenants"): lambda w: w.act(
        register(), "POST", V1 + "/tenants", {"name": "Second", "slug": unique("second")}
    ),
    ("PATCH", V1 + "/tenants/{id}"): _own("PATCH", V1 + "/tenants/{id}", {"name": "Renamed"}, tenant=True),
    ("PATCH", V1 + "/users/{id}"): _own("PATCH", V1 + "/users/{self}", {"firstName": "Grace"}),
    ("POST", V1 + "/users/me/invitations/{invitationId}/accept"): _accept,
    ("POST", V1 + "/users/me/invitations/{invitationId}/decline"): _decline,
    ("DELETE", V1 + "/tenants/{id}/members/{userId}"): _remove_member,
    ("PATCH", V1 + "/admin/users/{id}"): lambda w: w.act(
        w.admin, "PATCH", f"{V1}/admin/users/{register().user_id}", {"isActive": False}
    ),
    ("POST", V1 + "/users"): lambda w: w.act(
        (owner := register()),
        "POST",
        V1 + "/users",
        {"email": f"{unique('new')}@example.com", "password": PASSWORD, "firstName": "N", "lastName": "Ew"},
        tenant=owner.tenant_id,
    ),
    ("POST", V1 + "/api-keys"): _own("POST", V1 + "/api-keys", {"name": "ci"}, tenant=True),
    ("DELETE", V1 + "/api-keys/{id}"): _revoke_key,
    ("POST", V1 + "/plans"): lambda w: w.act(
        w.admin, "POST", V1 + "/plans", {"name": "P", "slug": unique("p")}
    ),
    ("PATCH", V1 + "/plans/{planId}"): _patch_plan,
    ("POST", V1 + "/plans/{planId}/prices"): _add_price,
    ("PATCH", V1 + "/plans/{planId}/prices/{priceId}"): _deactivate_price,
    ("POST", V1 + "/features"): lambda w: w.act(
        w.admin,
        "POST",
        V1 + "/features",
        {"name": "F", "lookupKey": unique("f").replace("-", "_"), "type": "QUOTA"},
    ),
    ("PATCH", V1 + "/features/{featureId}"): _patch_feature,
    ("POST", V1 + "/plans/{planId}/entitlements"): _add_entitlement,
    ("PATCH", V1 + "/plans/{planId}/entitlements/{entitlementId}"): lambda w: w.act(
        w.admin, "PATCH", _entitlement_path(w), {"includedAmount": 20}
    ),
    ("DELETE", V1 + "/plans/{planId}/entitlements/{entitlementId}"): lambda w: w.act(
        w.admin, "DELETE", _entitlement_path(w)
    ),
    ("POST", V1 + "/subscriptions"): _subscribe,
    ("POST", V1 + "/subscriptions/{subscriptionId}/cancel"): _cancel,
    ("POST", V1 + "/invoices/generate"): _generate,
    ("POST", V1 + "/invoices/{invoiceId}/finalize"): _invoice_step("finalize"),
    ("POST", V1 + "/invoices/{invoiceId}/mark-paid"): _invoice_step("mark-paid", "finalize"),
    ("POST", V1 + "/invoices/{invoiceId}/void"): _invoice_step("void", "finalize"),
    ("POST", V1 + "/invoices/{invoiceId}/refund"): _refund,
    ("POST", V1 + "/admin/clock/advance"): _clock("advance"),
    ("POST", V1 + "/admin/clock/reset"): _clock("reset"),
    ("POST", V1 + "/admin/dead-letter/{id}/retry"): _dead_letter("retry"),
    ("POST", V1 + "/admin/dead-letter/{id}/discard"): _dead_letter("discard"),
    ("POST", V1 + "/webhook-endpoints"): _webhooks("create"),
    ("PATCH", V1 + "/webhook-endpoints/{id}"): _webhooks("update"),
    ("DELETE", V1 + "/webhook-endpoints/{id}"): _webhooks("delete"),
    ("POST", V1 + "/webhook-endpoints/{id}/rotate-secret"): _webhooks("rotate"),
    ("POST", V1 + "/webhook-endpoints/{id}/test"): _webhooks("test"),
    ("POST", V1 + "/webhook-endpoints/{id}/deliveries/{deliveryId}/retry"): _webhooks("retry"),
    ("POST", V1 + "/admin/reconciliation/run"): _reconciliation_run,
    ("POST", V1 + "/admin/reconciliation/issues/{issueId}/acknowledge"): _reconciliation_issue("acknowledge"),
    ("POST", V1 + "/admin/reconciliation/issues/{issueId}/resolve"): _reconciliation_issue("resolve"),
}

WRITE_ROUTES = sorted((r.method, r.path) for r in topology.ROUTES if r.method in WRITES)


def audit_events_of(correlation_id: str) -> list[DomainEvent]:
    """The audit events staged (outbox items) by the request with this correlation id."""
    import os

    client = boto3.client("dynamodb", region_name=REGION)
    events = []
    for page in client.get_paginator("scan").paginate(
        TableName=os.environ["MP_CORE_TABLE"],
        FilterExpression="begins_with(pk, :outbox) AND contains(payload, :cid)",
        ExpressionAttributeValues={":outbox": {"S": "OUTBOX#"}, ":cid": {"S": correlation_id}},
    ):
        for item in page["Items"]:
            event = DomainEvent.from_json(item["payload"]["S"])
            if event.correlationId == correlation_id and is_audit_event(event):
                events.append(event)
    return events


@pytest.fixture(scope="module")
def world(moto_endpoint: str, lambda_api: str, webhook_aws: dict[str, str]) -> Iterator[World]:
    from meterplex.platform.clock_store import CLOCK_KEY, ClockStore

    yield World()
    store = ClockStore()
    store.client.delete_item(TableName=store.table, Key=CLOCK_KEY)


def test_every_write_route_has_a_scenario_or_a_reason() -> None:
    # GIVEN the topology's write routes WHEN each is looked up THEN it is walked, or excused
    excused = set(SCENARIOS) | set(NOT_AUDITED)
    missing = [f"{m} {p}" for m, p in WRITE_ROUTES if (m, p) not in excused]
    assert not missing, f"write routes with no audit scenario (add one, or a reason): {missing}"
    assert not set(SCENARIOS) & set(NOT_AUDITED), "a route is both walked and excused"
    stale = sorted(excused - set(WRITE_ROUTES))
    assert not stale, f"scenarios for routes that are gone: {stale}"


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if r in SCENARIOS], ids=lambda r: f"{r[0]} {r[1]}")
def test_write_route_leaves_exactly_one_audit_event(world: World, route: tuple[str, str]) -> None:
    # WHEN the route is called once, successfully
    act = SCENARIOS[route](world)
    assert 200 <= act.reply.status < 300, act.reply.body
    # THEN exactly one audit event carries that request's correlation id
    events = audit_events_of(act.correlation_id)
    assert len(events) == 1, [(e.type, e.data.get("resource")) for e in events]
    event = events[0]
    assert event.data["resource"] and event.data["action"] and event.data["resourceId"]
    assert event.actor.startswith(("user:", "apikey:")) or route[1].endswith("reset-password")
    assert "password" not in json.dumps(event.data).lower() or "[REDACTED]" in json.dumps(event.data)
    assert "whsec_" not in json.dumps(event.data)  # a webhook signing secret, never in the trail


def test_register_records_the_user_and_the_tenant(world: World) -> None:
    anonymous = Account(ApiClient(), "", "", "", "", "")
    body = {
        "email": f"{unique('reg')}@example.com",
        "password": PASSWORD,
        "firstName": "R",
        "lastName": "Eg",
        "tenantName": "Reg",
        "tenantSlug": unique("reg"),
    }
    act = world.act(anonymous, "POST", V1 + "/auth/register", body)
    assert act.reply.status == 201, act.reply.body
    resources = sorted(e.data["resource"] for e in audit_events_of(act.correlation_id))
    assert resources == ["tenant", "user"]
