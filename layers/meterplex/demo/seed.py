"""`seed_demo()`: the demo users, tenants, catalog, subscriptions, usage and three months of
billing history (SPEC §9, `demo/history.py`).

Idempotent: every step looks for what it would create (by email, slug, lookup key, plan/feature
pair, current subscription) and creates only what is missing, so it runs on every `make dev` start.
Usage and history are recorded only when the subscription is created here, so restarts add nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from meterplex.catalog.models import FeatureType, Interval
from meterplex.catalog.service import CatalogService
from meterplex.platform.auth import Role
from meterplex.platform.errors import Conflict
from meterplex.platform.observability import logger

DEMO_PASSWORD = "DevPass123"


@dataclass(frozen=True)
class DemoUser:
    key: str
    email: str
    first_name: str
    last_name: str
    platform_admin: bool = False


USERS = (
    DemoUser("alice", "alice@acme.test", "Alice", "Anderson", platform_admin=True),
    DemoUser("bob", "bob@acme.test", "Bob", "Brown"),
    DemoUser("carol", "carol@globex.test", "Carol", "Chen"),
    DemoUser("dave", "dave@stark.test", "Dave", "Diaz"),
    DemoUser("eve", "eve@acme.test", "Eve", "Evans"),
)

# slug → (name, owner, other members)
TENANTS: dict[str, tuple[str, str, dict[str, Role]]] = {
    "acme-corp": ("Acme Corp", "alice", {"bob": Role.DEVELOPER, "eve": Role.BILLING}),
    "globex": ("Globex", "carol", {"alice": Role.ADMIN, "bob": Role.DEVELOPER}),
    "stark": ("Stark Industries", "dave", {"eve": Role.BILLING}),
}

FEATURES: tuple[tuple[str, str, FeatureType, str | None], ...] = (
    ("api_access", "API access", FeatureType.BOOLEAN, None),
    ("sso", "Single sign-on", FeatureType.BOOLEAN, None),
    ("webhooks", "Webhooks", FeatureType.BOOLEAN, None),
    ("priority_support", "Priority support", FeatureType.BOOLEAN, None),
    ("analytics_export", "Analytics export", FeatureType.BOOLEAN, None),
    ("api_calls", "API calls", FeatureType.QUOTA, "calls"),
    ("team_seats", "Team seats", FeatureType.QUOTA, "seats"),
    ("storage", "Storage", FeatureType.METERED, "GB"),
)


def _quota(limit: int, overage: int | None, reset: str) -> dict[str, Any]:
    if overage is None:
        return {"limit": limit, "limitBehavior": "HARD", "resetPeriod": reset}
    return {"limit": limit, "limitBehavior": "SOFT", "overagePrice": overage, "resetPeriod": reset}


def _storage(included: int, overage: int) -> dict[str, Any]:
    return {"includedAmount": included, "overagePrice": overage, "resetPeriod": "MONTHLY"}


_STARTER_FLAGS = ("api_access",)
_PRO_FLAGS = ("api_access", "sso", "webhooks", "analytics_export")
_ENTERPRISE_FLAGS = ("api_access", "sso", "webhooks", "priority_support", "analytics_export")

# slug → (name, description, display order, monthly cents, annual cents, entitlements)
PLANS: dict[str, tuple[str, str, int, int, int, dict[str, dict[str, Any]]]] = {
    "starter": (
        "Starter",
        "For small teams getting started.",
        1,
        2900,
        27800,
        {
            **{flag: {"value": True} for flag in _STARTER_FLAGS},
            "api_calls": _quota(1_000, None, "MONTHLY"),
            "storage": _storage(1, 500),
            "team_seats": _quota(3, None, "NEVER"),
        },
    ),
    "pro": (
        "Pro",
        "For growing teams that need more power.",
        2,
        9900,
        94800,
        {
            **{flag: {"value": True} for flag in _PRO_FLAGS},
            "api_calls": _quota(50_000, 10, "MONTHLY"),
            "storage": _storage(10, 200),
            "team_seats": _quota(10, 100_000, "NEVER"),
        },
    ),
    "enterprise": (
        "Enterprise",
        "For organisations at scale.",
        3,
        49900,
        478800,
        {
            **{flag: {"value": True} for flag in _ENTERPRISE_FLAGS},
            "api_calls": _quota(500_000, 5, "MONTHLY"),
            "storage": _storage(100, 100),
            "team_seats": _quota(50, 80_000, "NEVER"),
        },
    ),
}

# tenant → (plan, interval); their usage and billing history: demo/history.py
SUBSCRIPTIONS: dict[str, tuple[str, Interval]] = {
    "acme-corp": ("pro", Interval.MONTHLY),
    "globex": ("starter", Interval.MONTHLY),
    "stark": ("enterprise", Interval.ANNUALLY),
}


def seed_catalog(catalog: CatalogService) -> dict[str, str]:
    """Features, plans, prices and entitlements; returns plan slug → plan id."""
    features = {f.lookup_key: f for f in catalog.list_features()}
    for key, name, type_, unit in FEATURES:
        if key not in features:
            try:
                features[key] = catalog.create_feature(name=name, lookup_key=key, type=type_, unit=unit)
            except Conflict:
                features[key] = catalog.get_feature_by_key(key)
    plan_ids: dict[str, str] = {}
    existing = {p.slug: p for p in catalog.list_plans(include_archived=True)}
    for slug, (name, description, order, monthly, annual, grants) in PLANS.items():
        plan = existing.get(slug)
        if plan is None:
            try:
                plan = catalog.create_plan(name=name, slug=slug, description=description, display_order=order)
            except Conflict:
                plan = catalog.get_plan_by_slug(slug)
        plan_ids[slug] = plan.id
        active = {(p.interval, p.currency) for p in catalog.list_prices(plan.id) if p.is_active}
        for interval, amount in ((Interval.MONTHLY, monthly), (Interval.ANNUALLY, annual)):
            if (interval, "usd") not in active:
                with contextlib.suppress(Conflict):
                    catalog.add_price(plan.id, interval=interval, amount=amount, currency="usd")
        mapped = {e.feature_lookup_key for e in catalog.list_entitlements(plan.id)}
        for key, terms in grants.items():
            if key not in mapped:
                with contextlib.suppress(Conflict):
                    catalog.create_entitlement(plan.id, features[key].id, terms)
    return plan_ids


def _demo_user(user: DemoUser) -> str:
    """The demo user's id; created fresh by the seed. An account someone else registered with a
    demo email is used as it is: it is never promoted to platform admin (bootstrap's rule)."""
    from meterplex.identity import bootstrap

    args = (user.email, DEMO_PASSWORD, user.first_name, user.last_name)
    try:
        return bootstrap.ensure_user(*args, platform_admin=user.platform_admin)
    except bootstrap.PromotionRefused as refused:
        logger.warning("demo user not promoted", email=user.email, reason=refused.message)
        return bootstrap.ensure_user(*args)


def seed_demo() -> dict[str, str]:
    """Seed everything; returns tenant slug → tenant id (handy for tests and the CLI)."""
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.demo.history import seed_history
    from meterplex.identity import bootstrap
    from meterplex.platform.clock import business_clock
    from meterplex.platform.errors import NotFound
    from meterplex.subscriptions.routes.subscriptions import subscription_service

    user_ids = {u.key: _demo_user(u) for u in USERS}
    tenant_ids: dict[str, str] = {}
    for slug, (name, owner, members) in TENANTS.items():
        tenant_id = bootstrap.ensure_tenant(slug, name, user_ids[owner])
        tenant_ids[slug] = tenant_id
        for member, role in members.items():
            bootstrap.ensure_membership(tenant_id, user_ids[member], role)

    catalog = catalog_service()
    plan_ids = seed_catalog(catalog)
    subscriptions = subscription_service()
    for slug, (plan_slug, interval) in SUBSCRIPTIONS.items():
        tenant_id = tenant_ids[slug]
        try:
            subscriptions.active(tenant_id)
            continue
        except NotFound:
            pass
        plan = catalog.get_plan(plan_ids[plan_slug])
        price = next(p for p in plan.prices if p.interval is interval and p.currency == "usd")
        seed_history(tenant_id, slug, price, plan.id, business_clock.now())
    logger.info("demo data seeded", tenants=sorted(tenant_ids))
    return tenant_ids
