"""Catalog rules (SPEC §3), pure: the repository is a port, time comes from a `Clock`.

Uniqueness (plan slug, feature lookup key, one active price per (plan, interval, currency), one
entitlement per (plan, feature)) is not checked here by reading: the repository enforces it with
conditional writes and raises `Conflict`. The service checks what a read can decide safely:
existence (404) and archived status (400), which the repository re-asserts in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from meterplex.catalog.models import (
    CatalogStatus,
    Entitlement,
    Feature,
    FeatureType,
    Interval,
    LimitBehavior,
    Plan,
    Price,
    ResetPeriod,
    Terms,
)
from meterplex.platform import audit
from meterplex.platform.audit import Actor, snapshot
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.errors import FieldError, InvalidInput, NotFound
from meterplex.platform.events import DomainEvent
from meterplex.platform.ids import new_id

# Wire names of the entitlement terms, per feature type (SPEC §3).
TERM_FIELDS: dict[FeatureType, frozenset[str]] = {
    FeatureType.BOOLEAN: frozenset({"value"}),
    FeatureType.QUOTA: frozenset({"limit", "limitBehavior", "overagePrice", "resetPeriod"}),
    FeatureType.METERED: frozenset({"includedAmount", "overagePrice", "resetPeriod"}),
}
ALL_TERM_FIELDS = frozenset().union(*TERM_FIELDS.values())


class CatalogRepository(Protocol):
    def create_plan(self, plan: Plan, audit: DomainEvent) -> None: ...  # Conflict PLAN_SLUG_TAKEN
    def get_plan(self, plan_id: str) -> Plan | None: ...  # with active prices
    def get_plan_by_slug(self, slug: str) -> Plan | None: ...
    def list_plans(self) -> list[Plan]: ...
    def save_plan(self, plan: Plan, audit: DomainEvent) -> None: ...
    def create_price(self, price: Price, audit: DomainEvent) -> None: ...  # Conflict ACTIVE_PRICE_EXISTS
    def list_prices(self, plan_id: str) -> list[Price]: ...
    def deactivate_price(self, price: Price, audit: DomainEvent) -> Price: ...  # releases its claim
    def create_feature(self, feature: Feature, audit: DomainEvent) -> None: ...  # Conflict FEATURE_KEY_TAKEN
    def get_feature(self, feature_id: str) -> Feature | None: ...
    def get_feature_by_key(self, lookup_key: str) -> Feature | None: ...
    def list_features(self) -> list[Feature]: ...
    def save_feature(self, feature: Feature, audit: DomainEvent) -> None: ...
    def create_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None: ...  # Conflict
    def list_entitlements(self, plan_id: str) -> list[Entitlement]: ...
    def save_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None: ...
    def delete_entitlement(self, entitlement: Entitlement, audit: DomainEvent) -> None: ...


def plan_not_found(plan_id: str) -> NotFound:
    return NotFound(f"Plan {plan_id} not found", code="PLAN_NOT_FOUND")


def feature_not_found(ref: str) -> NotFound:
    return NotFound(f"Feature {ref} not found", code="FEATURE_NOT_FOUND")


def plan_archived(plan_id: str) -> InvalidInput:
    return InvalidInput(f"Plan {plan_id} is archived", code="PLAN_ARCHIVED")


def feature_archived(ref: str) -> InvalidInput:
    return InvalidInput(f"Feature {ref} is archived", code="FEATURE_ARCHIVED")


def catalog_audit(
    type_: str, actor: Actor, resource_id: str, before: Any = None, after: Any = None
) -> DomainEvent:
    """The audit event of a catalog write (a platform write: no tenant). Plans are recorded
    without their prices: each price is audited on its own."""
    resource = type_.split(".", 1)[0]
    return audit.event(
        type_,
        actor=actor,
        tenant_id=None,
        resource=resource,
        resource_id=resource_id,
        before=snapshot(before, omit=("prices",)) if before is not None else None,
        after=snapshot(after, omit=("prices",)) if after is not None else None,
    )


def build_terms(feature_type: FeatureType, provided: Mapping[str, Any], base: Terms | None = None) -> Terms:
    """Validate the terms fields `provided` (wire names → values) for `feature_type`.

    `base` is the entitlement being updated (PATCH); without it the defaults of SPEC §3 apply.
    Fields that do not belong to the type are a 400 naming each field.
    """
    allowed = TERM_FIELDS[feature_type]
    wrong = sorted(k for k in provided if k not in allowed)
    if wrong:
        raise InvalidInput(
            f"Fields not allowed for a {feature_type.value} feature",
            code="INVALID_ENTITLEMENT_FIELDS",
            details=[FieldError(k, f"not allowed for a {feature_type.value} feature") for k in wrong],
        )
    errors: list[FieldError] = []
    terms = replace(base) if base else Terms()
    if feature_type is FeatureType.BOOLEAN:
        if "value" in provided:
            terms.value = provided["value"]
        if terms.value is None:
            errors.append(FieldError("value", "required for a BOOLEAN feature"))
    elif feature_type is FeatureType.QUOTA:
        for wire, attr in (("limit", "limit"), ("overagePrice", "overage_price")):
            if wire in provided:
                setattr(terms, attr, provided[wire])
        if "limitBehavior" in provided:
            terms.limit_behavior = LimitBehavior(provided["limitBehavior"])
            if terms.limit_behavior is LimitBehavior.HARD and "overagePrice" not in provided:
                terms.overage_price = None  # a HARD limit has no overage to price
        if "resetPeriod" in provided:
            terms.reset_period = ResetPeriod(provided["resetPeriod"])
        terms.limit_behavior = terms.limit_behavior or LimitBehavior.HARD
        terms.reset_period = terms.reset_period or ResetPeriod.MONTHLY
        if terms.limit is None:
            errors.append(FieldError("limit", "required for a QUOTA feature"))
        if terms.limit_behavior is LimitBehavior.SOFT and terms.overage_price is None:
            errors.append(FieldError("overagePrice", "required for a SOFT limit"))
        if terms.limit_behavior is LimitBehavior.HARD and terms.overage_price is not None:
            errors.append(FieldError("overagePrice", "only a SOFT limit has an overage price"))
    else:
        for wire, attr in (("includedAmount", "included_amount"), ("overagePrice", "overage_price")):
            if wire in provided:
                setattr(terms, attr, provided[wire])
        if "resetPeriod" in provided:
            terms.reset_period = ResetPeriod(provided["resetPeriod"])
        terms.included_amount = 0 if terms.included_amount is None else terms.included_amount
        terms.reset_period = terms.reset_period or ResetPeriod.MONTHLY
        if terms.overage_price is None:
            errors.append(FieldError("overagePrice", "required for a METERED feature"))
    for wire in ("limit", "overagePrice", "includedAmount"):
        value = provided.get(wire)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            errors.append(FieldError(wire, "must be an integer ≥ 0"))
    if errors:
        raise InvalidInput("The entitlement is invalid", code="INVALID_ENTITLEMENT", details=errors)
    return terms


class CatalogService:
    def __init__(self, repository: CatalogRepository, clock: Clock = system_clock) -> None:
        self._repo = repository
        self._clock = clock

    # -- plans -------------------------------------------------------------------------------
    def create_plan(
        self,
        *,
        name: str,
        slug: str,
        description: str | None = None,
        is_public: bool = True,
        display_order: int = 0,
        metadata: dict[str, Any] | None = None,
        actor: Actor = audit.SYSTEM,
    ) -> Plan:
        now = self._clock.now()
        plan = Plan(
            id=new_id(),
            name=name,
            slug=slug,
            description=description,
            is_public=is_public,
            display_order=display_order,
            metadata=metadata or {},
            status=CatalogStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        self._repo.create_plan(plan, catalog_audit("plan.created", actor, plan.id, after=plan))
        return plan

    def list_plans(self, *, include_archived: bool = False) -> list[Plan]:
        plans = [p for p in self._repo.list_plans() if include_archived or p.is_active]
        return sorted(plans, key=lambda p: (p.display_order, p.name))

    def get_plan(self, plan_id: str) -> Plan:
        plan = self._repo.get_plan(plan_id)
        if plan is None:
            raise plan_not_found(plan_id)
        return plan

    def get_plan_by_slug(self, slug: str) -> Plan:
        plan = self._repo.get_plan_by_slug(slug)
        if plan is None:
            raise plan_not_found(slug)
        return plan

    def update_plan(self, plan_id: str, changes: Mapping[str, Any], actor: Actor = audit.SYSTEM) -> Plan:
        """`changes`: any of name, description, is_public, display_order, metadata, status."""
        plan = self.get_plan(plan_id)
        updated = replace(plan, **changes, updated_at=self._clock.now())
        updated.status = CatalogStatus(updated.status)
        self._repo.save_plan(updated, catalog_audit("plan.updated", actor, plan.id, plan, updated))
        return updated

    # -- prices ------------------------------------------------------------------------------
    def add_price(
        self, plan_id: str, *, interval: Interval, amount: int, currency: str, actor: Actor = audit.SYSTEM
    ) -> Price:
        plan = self.get_plan(plan_id)
        if not plan.is_active:
            raise plan_archived(plan_id)
        price = Price(
            id=new_id(),
            plan_id=plan_id,
            interval=Interval(interval),
            amount=amount,
            currency=currency.lower(),
            is_active=True,
            created_at=self._clock.now(),
        )
        self._repo.create_price(price, catalog_audit("price.created", actor, price.id, after=price))
        return price

    def list_prices(self, plan_id: str) -> list[Price]:
        self.get_plan(plan_id)
        return sorted(self._repo.list_prices(plan_id), key=lambda p: p.created_at)

    def get_price(self, plan_id: str, price_id: str) -> Price:
        for price in self._repo.list_prices(plan_id):
            if price.id == price_id:
                return price
        raise NotFound(f"Price {price_id} not found on plan {plan_id}", code="PRICE_NOT_FOUND")

    def deactivate_price(self, plan_id: str, price_id: str, actor: Actor = audit.SYSTEM) -> Price:
        """Deactivate a price (idempotent); a new price for its (interval, currency) may follow.
        Deactivating an inactive price changes nothing and records no audit event."""
        price = self.get_price(plan_id, price_id)
        if not price.is_active:
            return price
        after = replace(price, is_active=False, deactivated_at=self._clock.now())
        return self._repo.deactivate_price(
            after, catalog_audit("price.deactivated", actor, price.id, price, after)
        )

    # -- features ----------------------------------------------------------------------------
    def create_feature(
        self,
        *,
        name: str,
        lookup_key: str,
        type: FeatureType,
        unit: str | None = None,
        description: str | None = None,
        actor: Actor = audit.SYSTEM,
    ) -> Feature:
        now = self._clock.now()
        feature = Feature(
            id=new_id(),
            name=name,
            lookup_key=lookup_key,
            type=FeatureType(type),
            unit=unit,
            description=description,
            status=CatalogStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )
        self._repo.create_feature(feature, catalog_audit("feature.created", actor, feature.id, after=feature))
        return feature

    def list_features(self) -> list[Feature]:
        return sorted(self._repo.list_features(), key=lambda f: f.lookup_key)

    def get_feature(self, feature_id: str) -> Feature:
        feature = self._repo.get_feature(feature_id)
        if feature is None:
            raise feature_not_found(feature_id)
        return feature

    def get_feature_by_key(self, lookup_key: str) -> Feature:
        feature = self._repo.get_feature_by_key(lookup_key)
        if feature is None:
            raise feature_not_found(lookup_key)
        return feature

    def update_feature(
        self, feature_id: str, changes: Mapping[str, Any], actor: Actor = audit.SYSTEM
    ) -> Feature:
        """`changes`: any of name, unit, description, status (lookup key and type are immutable)."""
        feature = self.get_feature(feature_id)
        updated = replace(feature, **changes, updated_at=self._clock.now())
        updated.status = CatalogStatus(updated.status)
        self._repo.save_feature(
            updated, catalog_audit("feature.updated", actor, feature.id, feature, updated)
        )
        return updated

    # -- entitlements ------------------------------------------------------------------------
    def create_entitlement(
        self, plan_id: str, feature_id: str, provided: Mapping[str, Any], actor: Actor = audit.SYSTEM
    ) -> Entitlement:
        plan = self.get_plan(plan_id)
        feature = self._repo.get_feature(feature_id)
        if feature is None:
            raise feature_not_found(feature_id)
        if not plan.is_active:
            raise plan_archived(plan_id)
        if not feature.is_active:
            raise feature_archived(feature.lookup_key)
        terms = build_terms(feature.type, provided)
        now = self._clock.now()
        entitlement = Entitlement(
            id=new_id(),
            plan_id=plan_id,
            feature_id=feature.id,
            feature_lookup_key=feature.lookup_key,
            feature_type=feature.type,
            terms=terms,
            created_at=now,
            updated_at=now,
        )
        self._repo.create_entitlement(
            entitlement, catalog_audit("entitlement.created", actor, entitlement.id, after=entitlement)
        )
        return entitlement

    def list_entitlements(self, plan_id: str) -> list[Entitlement]:
        self.get_plan(plan_id)
        return sorted(self._repo.list_entitlements(plan_id), key=lambda e: e.feature_lookup_key)

    def get_entitlement(self, plan_id: str, entitlement_id: str) -> Entitlement:
        for entitlement in self._repo.list_entitlements(plan_id):
            if entitlement.id == entitlement_id:
                return entitlement
        raise NotFound(
            f"Entitlement {entitlement_id} not found on plan {plan_id}", code="ENTITLEMENT_NOT_FOUND"
        )

    def update_entitlement(
        self, plan_id: str, entitlement_id: str, provided: Mapping[str, Any], actor: Actor = audit.SYSTEM
    ) -> Entitlement:
        """Change the terms; subscribers keep the snapshot taken when they subscribed."""
        before = self.get_entitlement(plan_id, entitlement_id)
        terms = build_terms(before.feature_type, provided, base=before.terms)
        after = replace(before, terms=terms, updated_at=self._clock.now())
        self._repo.save_entitlement(
            after, catalog_audit("entitlement.updated", actor, after.id, before, after)
        )
        return after

    def delete_entitlement(self, plan_id: str, entitlement_id: str, actor: Actor = audit.SYSTEM) -> None:
        entitlement = self.get_entitlement(plan_id, entitlement_id)
        self._repo.delete_entitlement(
            entitlement, catalog_audit("entitlement.deleted", actor, entitlement.id, before=entitlement)
        )
