"""The catalog (SPEC §3): plans, prices, features, and the entitlements that map them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from meterplex_client.models.base import Body, Model


class Price(Model):
    id: str
    plan_id: str
    interval: str
    amount: int
    currency: str
    is_active: bool
    created_at: datetime
    deactivated_at: datetime | None = None


class Plan(Model):
    id: str
    name: str
    slug: str
    description: str | None
    is_public: bool
    display_order: int
    metadata: dict[str, Any]
    status: str
    prices: list[Price]
    created_at: datetime
    updated_at: datetime


class Feature(Model):
    id: str
    name: str
    lookup_key: str
    type: str
    unit: str | None
    description: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class TermFields(BaseModel):
    """An entitlement's terms (SPEC §3); only those of the feature's type are set."""

    value: bool | None = None
    limit: int | None = None
    limit_behavior: str | None = None
    overage_price: int | None = None
    included_amount: int | None = None
    reset_period: str | None = None


class Terms(Model, TermFields):
    """The terms as the API answers them."""


class PlanEntitlement(Terms):
    id: str
    plan_id: str
    feature_id: str
    feature_lookup_key: str
    feature_type: str
    created_at: datetime
    updated_at: datetime


# ---------------------------------------------------------------------- request bodies
class CreatePlanRequest(Body):
    name: str
    slug: str
    description: str | None = None
    is_public: bool | None = None
    display_order: int | None = None
    metadata: dict[str, Any] | None = None


class UpdatePlanRequest(Body):
    name: str | None = None
    description: str | None = None
    is_public: bool | None = None
    display_order: int | None = None
    metadata: dict[str, Any] | None = None
    status: str | None = None


class CreatePriceRequest(Body):
    interval: str
    amount: int
    currency: str


class DeactivatePriceRequest(Body):
    is_active: bool = False


class CreateFeatureRequest(Body):
    name: str
    lookup_key: str
    type: str
    unit: str | None = None
    description: str | None = None


class UpdateFeatureRequest(Body):
    name: str | None = None
    unit: str | None = None
    description: str | None = None
    status: str | None = None


class EntitlementTerms(Body, TermFields):
    """The terms as a request body (PATCH; and, with `featureId`, POST)."""


class CreateEntitlementRequest(EntitlementTerms):
    feature_id: str
