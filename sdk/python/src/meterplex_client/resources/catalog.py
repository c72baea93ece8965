"""The catalog (SPEC §3). Reads: anyone (plans and prices are public); writes: a platform admin."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from meterplex_client.endpoint import Args, M, Resource, endpoint
from meterplex_client.models.base import Page
from meterplex_client.models.catalog import (
    CreateEntitlementRequest,
    CreateFeatureRequest,
    CreatePlanRequest,
    CreatePriceRequest,
    DeactivatePriceRequest,
    EntitlementTerms,
    Feature,
    Plan,
    PlanEntitlement,
    Price,
    UpdateFeatureRequest,
    UpdatePlanRequest,
)
from meterplex_client.resources.paging import page_params


class Terms(TypedDict, total=False):
    """An entitlement's terms; which ones apply depends on the feature's type (SPEC §3)."""

    value: bool
    limit: int
    limit_behavior: str
    overage_price: int
    included_amount: int
    reset_period: str


class Plans(Resource[M]):
    @endpoint("GET", "/plans", response=Page[Plan])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args(params=page_params(page, limit), authenticated=False)

    @endpoint("GET", "/plans/{planId}", response=Plan)
    def get(self, plan_id: str) -> Args:
        return Args.of(plan_id, authenticated=False)

    @endpoint("GET", "/plans/slug/{slug}", response=Plan)
    def get_by_slug(self, slug: str) -> Args:
        return Args.of(slug, authenticated=False)

    @endpoint("POST", "/plans", response=Plan, body=CreatePlanRequest)
    def create(
        self,
        name: str,
        slug: str,
        *,
        description: str | None = None,
        is_public: bool | None = None,
        display_order: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Args:
        body = CreatePlanRequest(
            name=name,
            slug=slug,
            description=description,
            is_public=is_public,
            display_order=display_order,
            metadata=metadata,
        )
        return Args(json=body)

    @endpoint("PATCH", "/plans/{planId}", response=Plan, body=UpdatePlanRequest)
    def update(
        self,
        plan_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        is_public: bool | None = None,
        display_order: int | None = None,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> Args:
        """Change a plan, or archive it (`status="ARCHIVED"`)."""
        body = UpdatePlanRequest(
            name=name,
            description=description,
            is_public=is_public,
            display_order=display_order,
            metadata=metadata,
            status=status,
        )
        return Args.of(plan_id, json=body)


class Prices(Resource[M]):
    @endpoint("GET", "/plans/{planId}/prices", response=Page[Price])
    def list(self, plan_id: str, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args.of(plan_id, params=page_params(page, limit), authenticated=False)

    @endpoint("POST", "/plans/{planId}/prices", response=Price, body=CreatePriceRequest)
    def create(self, plan_id: str, *, interval: str, amount: int, currency: str = "usd") -> Args:
        """Add a price (`amount` in cents) for `interval` MONTHLY | ANNUALLY."""
        return Args.of(plan_id, json=CreatePriceRequest(interval=interval, amount=amount, currency=currency))

    @endpoint("PATCH", "/plans/{planId}/prices/{priceId}", response=Price, body=DeactivatePriceRequest)
    def deactivate(self, plan_id: str, price_id: str) -> Args:
        return Args.of(plan_id, price_id, json=DeactivatePriceRequest())


class Features(Resource[M]):
    @endpoint("GET", "/features", response=Page[Feature])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args(params=page_params(page, limit))

    @endpoint("GET", "/features/{featureId}", response=Feature)
    def get(self, feature_id: str) -> Args:
        return Args.of(feature_id)

    @endpoint("GET", "/features/key/{lookupKey}", response=Feature)
    def get_by_key(self, lookup_key: str) -> Args:
        return Args.of(lookup_key)

    @endpoint("POST", "/features", response=Feature, body=CreateFeatureRequest)
    def create(
        self,
        name: str,
        lookup_key: str,
        type: str,
        *,
        unit: str | None = None,
        description: str | None = None,
    ) -> Args:
        """Create a feature: `type` BOOLEAN | QUOTA | METERED (immutable)."""
        body = CreateFeatureRequest(
            name=name, lookup_key=lookup_key, type=type, unit=unit, description=description
        )
        return Args(json=body)

    @endpoint("PATCH", "/features/{featureId}", response=Feature, body=UpdateFeatureRequest)
    def update(
        self,
        feature_id: str,
        *,
        name: str | None = None,
        unit: str | None = None,
        description: str | None = None,
        status: str | None = None,
    ) -> Args:
        body = UpdateFeatureRequest(name=name, unit=unit, description=description, status=status)
        return Args.of(feature_id, json=body)


class PlanEntitlements(Resource[M]):
    """Which features a plan grants, and on what terms (BOOLEAN value, QUOTA limit, METERED)."""

    @endpoint("GET", "/plans/{planId}/entitlements", response=Page[PlanEntitlement])
    def list(self, plan_id: str, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args.of(plan_id, params=page_params(page, limit))

    @endpoint("GET", "/plans/{planId}/entitlements/{entitlementId}", response=PlanEntitlement)
    def get(self, plan_id: str, entitlement_id: str) -> Args:
        return Args.of(plan_id, entitlement_id)

    @endpoint("POST", "/plans/{planId}/entitlements", response=PlanEntitlement, body=CreateEntitlementRequest)
    def create(self, plan_id: str, feature_id: str, /, **terms: Unpack[Terms]) -> Args:
        """Map a feature to a plan: `value` (BOOLEAN); `limit`, `limit_behavior` HARD|SOFT (QUOTA);
        `included_amount` (METERED); `overage_price` in hundredths of a cent; `reset_period`."""
        return Args.of(plan_id, json=CreateEntitlementRequest(feature_id=feature_id, **terms))

    @endpoint(
        "PATCH",
        "/plans/{planId}/entitlements/{entitlementId}",
        response=PlanEntitlement,
        body=EntitlementTerms,
    )
    def update(self, plan_id: str, entitlement_id: str, /, **terms: Unpack[Terms]) -> Args:
        return Args.of(plan_id, entitlement_id, json=EntitlementTerms(**terms))

    @endpoint("DELETE", "/plans/{planId}/entitlements/{entitlementId}", response=type(None))
    def delete(self, plan_id: str, entitlement_id: str) -> Args:
        return Args.of(plan_id, entitlement_id)
