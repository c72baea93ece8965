"""What the platform holds after each phase, read through its public API (and, where its moto is
reachable, a Scan of the usage table), turned into the plain values the checks read
(`load/observed.py`). Asynchronous effects (the pipeline, payment processing, deliveries) are
waited for up to `settle_s`; what is still missing then is what the checks report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3

from infra.local.webhook_receiver import Received
from load.api import Api, Login, bearer, in_parallel
from load.observed import (
    Arrival,
    BillingSeen,
    EntrySeen,
    Expected,
    InvoiceSeen,
    QuotaSeen,
    ReconciliationSeen,
    UsageSeen,
)
from load.plan import Outcome, Payment, Plan, Tenant

POLL_S = 0.5
PAGE = 100


def settle(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float) -> Any:
    """`read()` until `done(value)` or `timeout` seconds; the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(POLL_S)


def _used(api: Api, tenant: Tenant, feature: str) -> int:
    return int(api.get(f"/entitlements/{feature}/check", bearer(str(tenant.api_key)))["used"])


def usage(
    api: Api, plan: Plan, outcome: Outcome, stored: dict[str, tuple[int, int]] | None, settle_s: float
) -> list[UsageSeen]:
    def seen(tenant: Tenant) -> UsageSeen:
        answered = outcome.accepted_units.get(tenant.id, 0)
        counted = settle(lambda: _used(api, tenant, plan.metered), lambda n: n >= answered, settle_s)
        units = stored.get(tenant.id, (0, 0)) if stored is not None else (None, None)
        return UsageSeen(
            tenant.id,
            answered,
            outcome.accepted_events.get(tenant.id, 0),
            counted,
            stored_events=units[0],
            stored_units=units[1],
        )

    return in_parallel(seen, plan.traffic())


def quotas(api: Api, plan: Plan, outcome: Outcome) -> list[QuotaSeen]:
    def seen(tenant: Tenant) -> QuotaSeen:
        counted = _used(api, tenant, plan.quota)
        answered = outcome.most_used_answered.get(tenant.id, 0)
        return QuotaSeen(
            tenant.id, plan.quota_limit, outcome.granted_units.get(tenant.id, 0), answered, counted
        )

    return in_parallel(seen, plan.traffic())


def stored_usage(moto_url: str | None, table: str, tenants: set[str]) -> dict[str, tuple[int, int]] | None:
    """(events, units) per tenant of the usage table's event items (a Scan: a batch read, as the
    reconciler's), or None when the cloud's DynamoDB is not reachable from here."""
    if moto_url is None:
        return None
    client = boto3.client(
        "dynamodb",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto's fake credentials
    )
    totals: dict[str, tuple[int, int]] = {}
    for page in client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="sk = :event",
        ExpressionAttributeValues={":event": {"S": "EVENT"}},
        ProjectionExpression="tenantId, amount",
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            tenant = item["tenantId"]["S"]
            if tenant in tenants:
                events, units = totals.get(tenant, (0, 0))
                totals[tenant] = (events + 1, units + int(item["amount"]["N"]))
    return totals


def member(tenant: Tenant) -> dict[str, str]:
    return bearer(tenant.member_token, tenant.id)


def invoices_of(api: Api, tenant: Tenant) -> list[dict[str, Any]]:
    return list(api.get("/invoices", member(tenant), limit=PAGE)["data"])


def billed(api: Api, plan: Plan, settle_s: float) -> dict[str, list[dict[str, Any]]]:
    """Every tenant's invoices once each has one FINALIZED (the billing day's run), or the timeout."""

    def read(tenant: Tenant) -> list[dict[str, Any]]:
        return settle(
            lambda: invoices_of(api, tenant),
            lambda found: any(i["status"] != "DRAFT" for i in found),
            settle_s,
        )

    return dict(zip((t.id for t in plan.tenants), in_parallel(read, plan.tenants), strict=True))


def pending_payments(api: Api, plan: Plan, settle_s: float) -> list[Payment]:
    """The fake provider holds every collected attempt PENDING until `/webhooks/fake` decides it."""

    def read(tenant: Tenant) -> list[Payment]:
        found = settle(
            lambda: api.get("/billing/payments", member(tenant), limit=PAGE)["data"],
            lambda rows: any(p["status"] == "PENDING" and p["providerPaymentId"] for p in rows),
            settle_s,
        )
        return [
            Payment(tenant.id, p["invoiceId"], p["providerPaymentId"], p["amount"], p["currency"])
            for p in found
            if p["status"] == "PENDING" and p["providerPaymentId"]
        ]

    return [p for batch in in_parallel(read, plan.tenants) for p in batch]


def billing(api: Api, plan: Plan, decided: dict[str, str], settle_s: float) -> list[BillingSeen]:
    """Each tenant's invoices (waiting until a decided payment has settled its invoice) and ledger
    (waiting until it holds an entry per invoice action the invoices show)."""

    def settled(found: list[dict[str, Any]], outcome: str | None) -> bool:
        return bool(found) and all(
            i["status"] == ("PAID" if outcome == "succeeded" else "FINALIZED") for i in found
        )

    def owed(found: list[dict[str, Any]]) -> int:
        return sum(bool(i["finalizedAt"]) + (i["status"] == "PAID") for i in found)

    def seen(tenant: Tenant) -> BillingSeen:
        outcome = decided.get(tenant.id)
        found = settle(lambda: invoices_of(api, tenant), lambda f: settled(f, outcome), settle_s)
        entries = settle(
            lambda: api.get("/billing/ledger", member(tenant), limit=PAGE)["data"],
            lambda rows: len(rows) >= owed(found),
            settle_s,
        )
        return BillingSeen(
            tenant.id,
            tenant.subscription_id,
            tenant.period_start,
            tenant.period_end,
            [
                InvoiceSeen(
                    i["id"],
                    i["subscriptionId"],
                    i["periodStart"],
                    i["periodEnd"],
                    i["status"],
                    bool(i["finalizedAt"]),
                )
                for i in found
            ],
            [EntrySeen(e["id"], e["type"], e["invoiceId"]) for e in entries],
            outcome,
        )

    return in_parallel(seen, plan.tenants)


def expected_webhooks(plan: Plan, outcomes: list[Outcome], seen: list[BillingSeen]) -> list[Expected]:
    """What each endpoint is owed: the pings sent, and for each hooked tenant's invoice its
    `invoice.finalized`, and the payment events (and `invoice.paid`) of the webhooks it was sent."""
    expected = [Expected(t["path"], "webhook.test", t["eventId"]) for o in outcomes for t in o.webhook_tests]
    by_tenant = {b.tenant_id: b for b in seen}
    decided = {d["invoiceId"]: d["outcome"] for o in outcomes for d in o.decided}
    for tenant in plan.hooked():
        paths = {e.path.rsplit("/", 1)[1]: e.path for e in tenant.endpoints}
        for invoice in by_tenant[tenant.id].invoices if tenant.id in by_tenant else []:
            if invoice.finalized:
                expected.append(Expected(paths["invoices"], "invoice.finalized", invoice.id))
            outcome = decided.get(invoice.id)
            if outcome:
                expected.append(Expected(paths["payments"], f"payment.{outcome}", invoice.id))
            if outcome == "succeeded":
                expected.append(Expected(paths["invoices"], "invoice.paid", invoice.id))
    return expected


def arrival(received: Received) -> Arrival:
    body = json.loads(received.body)
    data = body.get("data") or {}
    kind = str(body.get("type"))
    key = (
        body["id"]
        if kind == "webhook.test"
        else data.get("invoiceId")
        if kind.startswith("payment.")
        else data.get("id")
    )
    return Arrival(received.path, received.headers.get("webhook-id", ""), kind, str(key), received.status)


def arrivals(received: list[Received], expected: list[Expected], settle_s: float) -> list[Arrival]:
    """Everything the receiver got, once the expected deliveries have all arrived (or the timeout)."""
    settle(lambda: len(received), lambda n: n >= len(expected), settle_s)
    time.sleep(1)  # a late duplicate would arrive now: it must be seen to be reported
    return [arrival(r) for r in list(received)]


def reconciliation(api: Api, admin: Login, settle_s: float) -> ReconciliationSeen:
    run = api.post("/admin/reconciliation/run", admin.headers(), {})

    def read() -> dict[str, Any]:
        runs = api.get("/admin/reconciliation/runs", admin.headers(), limit=PAGE)["data"]
        return next((r for r in runs if r["id"] == run["id"]), run)

    done = settle(read, lambda r: r["status"] != "RUNNING", settle_s)
    stats = done["stats"]
    return ReconciliationSeen(done["status"], stats["issues"], stats["eventsRedriven"], stats["byCategory"])
