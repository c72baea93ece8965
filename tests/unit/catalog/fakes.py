"""In-memory fakes of the catalog and subscription repositories and the hot-path grant store.

They enforce the same invariants the DynamoDB repositories enforce with conditions, so service
tests exercise the rules, not the storage."""

from __future__ import annotations

import copy
import threading
from dataclasses import replace
from datetime import datetime
from typing import Any

from meterplex.catalog.models import Entitlement, Feature, Plan, Price
from meterplex.entitlements.grants import Claim, ConsumeRejected, CounterMoved, Grant
from meterplex.periods import usage_window_for
from meterplex.platform.clock import iso
from meterplex.platform.errors import Conflict
from meterplex.platform.events import DomainEvent
from meterplex.subscriptions.models import Subscription


class FakeCatalogRepository:
    def __init__(self) -> None:
        self.audits: list[DomainEvent | None] = []
        self.plans: dict[str, Plan] = {}
        self.prices: dict[str, Price] = {}
        self.features: dict[str, Feature] = {}
        self.entitlements: dict[str, Entitlement] = {}

    def create_plan(self, plan: Plan, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        if any(p.slug == plan.slug for p in self.plans.values()):
            raise Conflict("taken", code="PLAN_SLUG_TAKEN")
        self.plans[plan.id] = copy.deepcopy(plan)

    def get_plan(self, plan_id: str) -> Plan | None:
        plan = copy.deepcopy(self.plans.get(plan_id))
        if plan is not None:
            plan.prices = [p for p in self.prices.values() if p.plan_id == plan_id and p.is_active]
        return plan

    def get_plan_by_slug(self, slug: str) -> Plan | None:
        return next((self.get_plan(p.id) for p in self.plans.values() if p.slug == slug), None)

    def list_plans(self) -> list[Plan]:
        return [p for p in (self.get_plan(i) for i in self.plans) if p is not None]

    def save_plan(self, plan: Plan, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        self.plans[plan.id] = copy.deepcopy(plan)

    def create_price(self, price: Price, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        for p in self.prices.values():
            if (p.plan_id, p.interval, p.currency, p.is_active) == (
                price.plan_id,
                price.interval,
                price.currency,
                True,
            ):
                raise Conflict("active price exists", code="ACTIVE_PRICE_EXISTS")
        self.prices[price.id] = copy.deepcopy(price)

    def list_prices(self, plan_id: str) -> list[Price]:
        return [copy.deepcopy(p) for p in self.prices.values() if p.plan_id == plan_id]

    def deactivate_price(self, price: Price, audit: DomainEvent | None = None) -> Price:
        self.audits.append(audit)
        self.prices[price.id] = copy.deepcopy(price)
        return price

    def create_feature(self, feature: Feature, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        if any(f.lookup_key == feature.lookup_key for f in self.features.values()):
            raise Conflict("taken", code="FEATURE_KEY_TAKEN")
        self.features[feature.id] = copy.deepcopy(feature)

    def get_feature(self, feature_id: str) -> Feature | None:
        return copy.deepcopy(self.features.get(feature_id))

    def get_feature_by_key(self, lookup_key: str) -> Feature | None:
        return next((copy.deepcopy(f) for f in self.features.values() if f.lookup_key == lookup_key), None)

    def list_features(self) -> list[Feature]:
        return [copy.deepcopy(f) for f in self.features.values()]

    def save_feature(self, feature: Feature, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        self.features[feature.id] = copy.deepcopy(feature)

    def create_entitlement(self, entitlement: Entitlement, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        for e in self.entitlements.values():
            if (e.plan_id, e.feature_id) == (entitlement.plan_id, entitlement.feature_id):
                raise Conflict("exists", code="ENTITLEMENT_EXISTS")
        self.entitlements[entitlement.id] = copy.deepcopy(entitlement)

    def list_entitlements(self, plan_id: str) -> list[Entitlement]:
        return [copy.deepcopy(e) for e in self.entitlements.values() if e.plan_id == plan_id]

    def save_entitlement(self, entitlement: Entitlement, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        self.entitlements[entitlement.id] = copy.deepcopy(entitlement)

    def delete_entitlement(self, entitlement: Entitlement, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        del self.entitlements[entitlement.id]


class FakeSubscriptionRepository:
    def __init__(self) -> None:
        self.audits: list[DomainEvent | None] = []
        self.subs: dict[str, Subscription] = {}
        self.pointer: dict[str, str] = {}
        self.trials: dict[str, str] = {}  # tenant → the subscription that used its trial

    def current(self, tenant_id: str) -> Subscription | None:
        sub_id = self.pointer.get(tenant_id)
        return copy.deepcopy(self.subs[sub_id]) if sub_id else None

    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        sub = self.subs.get(subscription_id)
        return copy.deepcopy(sub) if sub and sub.tenant_id == tenant_id else None

    def history(self, tenant_id: str) -> list[Subscription]:
        subs = [s for s in self.subs.values() if s.tenant_id == tenant_id]
        return [copy.deepcopy(s) for s in sorted(subs, key=lambda s: s.id, reverse=True)]

    def start(
        self, new: Subscription, replaced: Subscription | None, audit: DomainEvent | None = None
    ) -> None:
        self.audits.append(audit)
        if self.pointer.get(new.tenant_id) != (replaced.id if replaced else None):
            raise Conflict("changed", code="SUBSCRIPTION_CHANGED")
        if new.trial_ends_at is not None:
            if new.tenant_id in self.trials:
                raise Conflict("trial used", code="TRIAL_ALREADY_USED")
            self.trials[new.tenant_id] = new.id
        if replaced is not None:
            self.subs[replaced.id] = copy.deepcopy(replaced)
        self.subs[new.id] = copy.deepcopy(new)
        self.pointer[new.tenant_id] = new.id

    def cancel(self, sub: Subscription, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        if self.pointer.get(sub.tenant_id) != sub.id:
            raise Conflict("not current", code="SUBSCRIPTION_NOT_ACTIVE")
        del self.pointer[sub.tenant_id]
        self.subs[sub.id] = copy.deepcopy(sub)

    def schedule_end(self, sub: Subscription, audit: DomainEvent | None = None) -> None:
        self.audits.append(audit)
        self.subs[sub.id] = copy.deepcopy(sub)


class FakeGrantStore:
    """The hot-path store's semantics (conditional ADD, idempotency claims, window roll) in memory."""

    def __init__(self) -> None:
        self.audits: list[DomainEvent | None] = []
        self.grants: dict[tuple[str, str], Grant] = {}
        self.windows: dict[tuple[str, str, str], int] = {}  # (tenant, feature, window start) → used
        self.claims: dict[tuple[str, str], Claim] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def put(self, grant: Grant) -> None:
        self.grants[(grant.tenant_id, grant.feature_key)] = grant

    def get(self, tenant_id: str, feature_key: str) -> Grant | None:
        self.calls += 1
        return self.grants.get((tenant_id, feature_key))

    def _apply(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant:
        grant = self.grants.get((tenant_id, feature_key))
        now_s = iso(now)
        ok = (
            grant is not None
            and grant.feature_type != "BOOLEAN"
            and grant.window_start <= now_s < grant.window_end
            and (grant.ends_at is None or grant.ends_at > now_s)
            and (not grant.is_hard or grant.allowance - grant.used >= amount)
        )
        if not ok:
            raise ConsumeRejected(grant)
        assert grant is not None
        updated = replace(grant, used=grant.used + amount)
        self.grants[(tenant_id, feature_key)] = updated
        return updated

    def add_usage(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant:
        with self._lock:
            self.calls += 1
            return self._apply(tenant_id, feature_key, amount, now)

    def claim(self, tenant_id: str, idempotency_key: str) -> Claim | None:
        self.calls += 1
        return self.claims.get((tenant_id, idempotency_key))

    def add_usage_once(
        self, seen: Grant, amount: int, now: datetime, idempotency_key: str, answer: dict[str, Any]
    ) -> Claim | CounterMoved | None:
        with self._lock:
            self.calls += 1
            key = (seen.tenant_id, idempotency_key)
            if key in self.claims:
                return self.claims[key]
            current = self.grants.get((seen.tenant_id, seen.feature_key))
            if current is None or current.used != seen.used:
                return CounterMoved(current)
            try:
                self._apply(seen.tenant_id, seen.feature_key, amount, now)
            except ConsumeRejected as rejected:
                return CounterMoved(rejected.grant)
            self.claims[key] = Claim(seen.feature_key, amount, answer)
            return None

    def roll_window(self, grant: Grant, start: datetime, end: datetime | None) -> None:
        with self._lock:
            self.calls += 1
            key = (grant.tenant_id, grant.feature_key)
            current = self.grants[key]
            if current.window_start != grant.window_start or current.used != grant.used:
                return
            archive = (grant.tenant_id, grant.feature_key, grant.window_start)
            self.windows[archive] = self.windows.get(archive, 0) + grant.used
            self.grants[key] = replace(
                current,
                window_start=iso(start),
                window_end=iso(end) if end else "9999-12-31T23:59:59.999Z",
                used=0,
            )


def grant(
    *,
    tenant_id: str = "t1",
    feature_key: str = "api_calls",
    feature_type: str = "QUOTA",
    started_at: datetime,
    now: datetime | None = None,
    reset_period: str = "MONTHLY",
    trial_ends_at: datetime | None = None,
    **terms: Any,
) -> Grant:
    start, end = usage_window_for(reset_period, started_at, trial_ends_at, now or started_at)
    return Grant(
        tenant_id=tenant_id,
        feature_key=feature_key,
        subscription_id="sub-1",
        feature_type=feature_type,
        started_at=iso(started_at),
        window_start=iso(start),
        window_end=iso(end) if end else "9999-12-31T23:59:59.999Z",
        reset_period=reset_period if feature_type != "BOOLEAN" else None,
        trial_ends_at=iso(trial_ends_at) if trial_ends_at else None,
        **terms,
    )
