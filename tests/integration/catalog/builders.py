"""Build a plan with prices and entitlements through catalog_api, for subscription and hot-path tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.integration.catalog.handlers import admin, call, unique, unique_key


@dataclass
class PlanFixture:
    id: str
    slug: str
    monthly_price_id: str
    annual_price_id: str
    features: dict[str, str]  # short name → lookup key
    feature_ids: dict[str, str]
    entitlement_ids: dict[str, str]


def build_plan(grants: dict[str, tuple[str, dict[str, Any]]], monthly: int = 2900) -> PlanFixture:
    """`grants`: short name → (feature type, entitlement terms)."""
    boss = admin()
    plan = call(
        "catalog_api", "POST", "/api/v1/plans", {"name": "P", "slug": unique("plan")}, principal=boss
    ).body
    prices = {}
    for interval, amount in (("MONTHLY", monthly), ("ANNUALLY", monthly * 10)):
        body = {"interval": interval, "amount": amount, "currency": "usd"}
        reply = call("catalog_api", "POST", f"/api/v1/plans/{plan['id']}/prices", body, principal=boss)
        prices[interval] = reply.body["id"]
    keys, ids, ents = {}, {}, {}
    for name, (type_, terms) in grants.items():
        key = unique_key(name)
        feature = call(
            "catalog_api",
            "POST",
            "/api/v1/features",
            {"name": name, "lookupKey": key, "type": type_},
            principal=boss,
        ).body
        ent = call(
            "catalog_api",
            "POST",
            f"/api/v1/plans/{plan['id']}/entitlements",
            {"featureId": feature["id"], **terms},
            principal=boss,
        )
        assert ent.status == 201, ent.body
        keys[name], ids[name], ents[name] = key, feature["id"], ent.body["id"]
    return PlanFixture(plan["id"], plan["slug"], prices["MONTHLY"], prices["ANNUALLY"], keys, ids, ents)
