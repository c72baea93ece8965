"""Catalog API schemas (they drive validation and OpenAPI) and their mapping from domain types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer

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
)
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.clock import iso
from meterplex.platform.limits import KeyPart, Metadata
from meterplex.platform.pagination import PageMeta

Timestamp = Annotated[datetime, PlainSerializer(iso, return_type=str)]  # UTC, ISO 8601 with Z

LookupKey = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$",
        max_length=100,
        description="Immutable snake_case key used by the hot path, e.g. `api_calls`",
    ),
]
PlanSlug = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=100, description="Immutable URL-safe key, e.g. `pro`"
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217, stored lowercase")]
# Every integer has a documented range (SPEC §0): generous, but storable and summable exactly.
Cents = Annotated[int, Field(ge=0, le=100_000_000_000, description="Integer cents (≤ $1,000,000,000)")]
Units = Annotated[int, Field(ge=0, le=1_000_000_000_000_000)]
OveragePrice = Annotated[
    int, Field(ge=0, le=1_000_000_000, description="Hundredths of a cent per unit (10 = $0.001)")
]
DisplayOrder = Annotated[int, Field(ge=0, le=1_000_000)]


# -- requests ---------------------------------------------------------------------------------
class CreatePlanRequest(ApiModel):
    name: Name
    slug: PlanSlug
    description: Description | None = None
    is_public: bool = True
    display_order: DisplayOrder = 0
    metadata: Metadata = Field(default_factory=dict)


class UpdatePlanRequest(ApiModel):
    """Slug is immutable: sending it is an unknown field (400)."""

    name: Name | None = None
    description: Description | None = None
    is_public: bool | None = None
    display_order: DisplayOrder | None = None
    metadata: Metadata | None = None
    status: CatalogStatus | None = None


class CreatePriceRequest(ApiModel):
    interval: Interval
    amount: Cents
    currency: Currency


class DeactivatePriceRequest(ApiModel):
    """The only change a price allows; the body may be omitted."""

    is_active: Literal[False] = False


class CreateFeatureRequest(ApiModel):
    name: Name
    lookup_key: LookupKey
    type: FeatureType
    unit: Annotated[str, Field(max_length=50)] | None = None
    description: Description | None = None


class UpdateFeatureRequest(ApiModel):
    """Lookup key and type are immutable: sending them is an unknown field (400)."""

    name: Name | None = None
    unit: Annotated[str, Field(max_length=50)] | None = None
    description: Description | None = None
    status: CatalogStatus | None = None


class TermsFields(ApiModel):
    """Which of these may be sent depends on the feature's type (SPEC §3); checked by the service."""

    value: bool | None = Field(None, description="BOOLEAN")
    limit: Units | None = Field(None, description="QUOTA")
    limit_behavior: LimitBehavior | None = Field(None, description="QUOTA; default HARD")
    overage_price: OveragePrice | None = Field(None, description="SOFT QUOTA and METERED")
    included_amount: Units | None = Field(None, description="METERED; default 0")
    reset_period: ResetPeriod | None = Field(None, description="QUOTA and METERED; default MONTHLY")

    def provided_terms(self) -> dict[str, Any]:
        """The terms the caller actually sent, by wire name."""
        sent = self.model_dump(by_alias=True, exclude_unset=True)
        sent.pop("featureId", None)
        return sent


class CreateEntitlementRequest(TermsFields):
    feature_id: Annotated[KeyPart, Field(max_length=100)]


class UpdateEntitlementRequest(TermsFields):
    pass


# -- responses --------------------------------------------------------------------------------
class PriceOut(ApiResponse):
    id: str
    plan_id: str
    interval: Interval
    amount: int
    currency: str
    is_active: bool
    created_at: Timestamp
    deactivated_at: Timestamp | None = None


class PlanOut(ApiResponse):
    id: str
    name: str
    slug: str
    description: str | None
    is_public: bool
    display_order: int
    metadata: dict[str, Any]
    status: CatalogStatus
    prices: list[PriceOut] = Field(description="The plan's active prices")
    created_at: Timestamp
    updated_at: Timestamp


class FeatureOut(ApiResponse):
    id: str
    name: str
    lookup_key: str
    type: FeatureType
    unit: str | None
    description: str | None
    status: CatalogStatus
    created_at: Timestamp
    updated_at: Timestamp


class EntitlementOut(ApiResponse):
    id: str
    plan_id: str
    feature_id: str
    feature_lookup_key: str
    feature_type: FeatureType
    value: bool | None = None
    limit: int | None = None
    limit_behavior: LimitBehavior | None = None
    overage_price: int | None = None
    included_amount: int | None = None
    reset_period: ResetPeriod | None = None
    created_at: Timestamp
    updated_at: Timestamp


class PlanPage(ApiResponse):
    data: list[PlanOut]
    meta: PageMeta


class PricePage(ApiResponse):
    data: list[PriceOut]
    meta: PageMeta


class FeaturePage(ApiResponse):
    data: list[FeatureOut]
    meta: PageMeta


class EntitlementPage(ApiResponse):
    data: list[EntitlementOut]
    meta: PageMeta


# -- mapping ----------------------------------------------------------------------------------
def price_out(price: Price) -> PriceOut:
    return PriceOut(
        id=price.id,
        plan_id=price.plan_id,
        interval=price.interval,
        amount=price.amount,
        currency=price.currency,
        is_active=price.is_active,
        created_at=price.created_at,
        deactivated_at=price.deactivated_at,
    )


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        slug=plan.slug,
        description=plan.description,
        is_public=plan.is_public,
        display_order=plan.display_order,
        metadata=plan.metadata,
        status=plan.status,
        prices=[price_out(p) for p in plan.prices if p.is_active],
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def feature_out(feature: Feature) -> FeatureOut:
    return FeatureOut(
        id=feature.id,
        name=feature.name,
        lookup_key=feature.lookup_key,
        type=feature.type,
        unit=feature.unit,
        description=feature.description,
        status=feature.status,
        created_at=feature.created_at,
        updated_at=feature.updated_at,
    )


def entitlement_out(entitlement: Entitlement) -> EntitlementOut:
    t = entitlement.terms
    return EntitlementOut(
        id=entitlement.id,
        plan_id=entitlement.plan_id,
        feature_id=entitlement.feature_id,
        feature_lookup_key=entitlement.feature_lookup_key,
        feature_type=entitlement.feature_type,
        value=t.value,
        limit=t.limit,
        limit_behavior=t.limit_behavior,
        overage_price=t.overage_price,
        included_amount=t.included_amount,
        reset_period=t.reset_period,
        created_at=entitlement.created_at,
        updated_at=entitlement.updated_at,
    )
