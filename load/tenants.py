"""The run's world, made over the public API: a plan (a METERED feature with nothing included, a
HARD quota), `tenants` tenants subscribed to it (so all their first periods end within minutes of
each other: the billing day), API keys for the traffic tenants and two webhook endpoints at the
receiver for each hooked tenant.

Owners: one registered owner per `tenants_per_owner` tenants (its first tenant comes with the
registration, the others from `POST /tenants`). Not one owner for all: every write re-checks the
caller by reading all of the user's memberships (ADR 0031), so one owner of N tenants makes the
set-up quadratic (ADR 0110)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from load.api import Api, Login, bearer, in_parallel
from load.knobs import Knobs
from load.plan import Endpoint, Plan, Tenant

PASSWORD = "LoadPass123"  # the run's own owner accounts, on the run's own tenants
MONTHLY_CENTS = 2_900
OVERAGE = 10  # hundredths of a cent per METERED unit
ENDPOINTS = {  # receiver path suffix → the event types it subscribes to
    "invoices": ["invoice.finalized", "invoice.paid"],
    "payments": ["payment.succeeded", "payment.failed"],
}


def build(api: Api, admin: dict[str, str], knobs: Knobs, receiver_url: str) -> Plan:
    run = uuid.uuid4().hex[:8]
    metered, quota = f"load_events_{run}", f"load_quota_{run}"
    plan = api.post("/plans", admin, {"name": f"Load {run}", "slug": f"load-{run}"})
    price = api.post(
        f"/plans/{plan['id']}/prices",
        admin,
        {"interval": "MONTHLY", "amount": MONTHLY_CENTS, "currency": "usd"},
    )
    terms: dict[str, tuple[str, dict[str, Any]]] = {
        metered: ("METERED", {"includedAmount": 0, "overagePrice": OVERAGE}),
        quota: ("QUOTA", {"limit": knobs.quota_limit, "limitBehavior": "HARD"}),
    }
    for key, (kind, entitlement) in terms.items():
        feature = api.post("/features", admin, {"name": key, "lookupKey": key, "type": kind})
        api.post(f"/plans/{plan['id']}/entitlements", admin, {"featureId": feature["id"], **entitlement})

    def register(first: int) -> tuple[str, str, str]:
        """An owner and its first tenant (tenant number `first`): (email, token, tenant id)."""
        email = f"load-{run}-{first}@example.com"
        owner = api.post(
            "/auth/register",
            {},
            {
                "email": email,
                "password": PASSWORD,
                "firstName": "Load",
                "lastName": "Run",
                "tenantName": f"Load {run} {first}",
                "tenantSlug": f"load-{run}-{first}",
            },
        )
        return email, owner["accessToken"], owner["tenant"]["id"]

    group = knobs.tenants_per_owner
    owners = dict(
        zip(
            range(0, knobs.tenants, group), in_parallel(register, range(0, knobs.tenants, group)), strict=True
        )
    )

    def subscribe(n: int) -> Tenant:
        """Tenant n, subscribed: one work item per tenant, so that the identity and subscriptions
        functions work at once."""
        email, token, tenant_id = owners[n - n % group]
        if n % group:
            body = {"name": f"Load {run} {n}", "slug": f"load-{run}-{n}"}
            tenant_id = api.post("/tenants", bearer(token), body)["id"]
        member = bearer(token, tenant_id)
        sub = api.post("/subscriptions", member, {"planId": plan["id"], "priceId": price["id"]})
        key = api.post("/api-keys", member, {"name": "load"})["key"] if n < knobs.traffic_tenants else None
        endpoints = []
        if n < knobs.hooked_tenants:
            for kind, types in ENDPOINTS.items():
                path = f"/t/{n}/{kind}"
                hook = {"url": f"{receiver_url}{path}", "eventTypes": types, "description": f"load {kind}"}
                endpoints.append(Endpoint(api.post("/webhook-endpoints", member, hook)["id"], path, types))
        return Tenant(
            tenant_id,
            sub["id"],
            sub["currentPeriodStart"],
            sub["currentPeriodEnd"],
            email,
            token,
            key,
            endpoints,
        )

    return Plan(
        url=api.url,
        metered=metered,
        quota=quota,
        quota_limit=knobs.quota_limit,
        tenants=in_parallel(subscribe, range(knobs.tenants)),
        fail_percent=knobs.fail_percent,
        repeat_percent=knobs.repeat_percent,
    )


def with_fresh_tokens(api: Api, plan: Plan) -> None:
    """Log every owner in again (access tokens live 15 min; a run is longer) and give each tenant
    its owner's new token."""
    emails = sorted({t.owner_email for t in plan.tenants})
    tokens = dict(zip(emails, in_parallel(lambda e: Login(api, e, PASSWORD).token(), emails), strict=True))
    plan.tenants = [replace(t, member_token=tokens[t.owner_email]) for t in plan.tenants]
