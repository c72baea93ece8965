"""Catalog domain types: what the catalog rules talk about. No AWS, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class CatalogStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Interval(StrEnum):
    MONTHLY = "MONTHLY"
    ANNUALLY = "ANNUALLY"


class FeatureType(StrEnum):
    BOOLEAN = "BOOLEAN"
    QUOTA = "QUOTA"
    METERED = "METERED"


class LimitBehavior(StrEnum):
    HARD = "HARD"
    SOFT = "SOFT"


class ResetPeriod(StrEnum):
    MONTHLY = "MONTHLY"
    ANNUALLY = "ANNUALLY"
    NEVER = "NEVER"


@dataclass
class Price:
    id: str
    plan_id: str
    interval: Interval
    amount: int  # cents
    currency: str  # lowercase ISO 4217
    is_active: bool
    created_at: datetime
    deactivated_at: datetime | None = None


@dataclass
class Plan:
    id: str
    name: str
    slug: str
    description: str | None
    is_public: bool
    display_order: int
    metadata: dict[str, Any]
    status: CatalogStatus
    created_at: datetime
    updated_at: datetime
    prices: list[Price] = field(default_factory=list)  # active prices, filled by the repository

    @property
    def is_active(self) -> bool:
        return self.status is CatalogStatus.ACTIVE


@dataclass
class Feature:
    id: str
    name: str
    lookup_key: str
    type: FeatureType
    unit: str | None
    description: str | None
    status: CatalogStatus
    created_at: datetime
    updated_at: datetime

    @property
    def is_active(self) -> bool:
        return self.status is CatalogStatus.ACTIVE


@dataclass
class Terms:
    """What an entitlement grants; which fields are set depends on the feature type (SPEC §3)."""

    value: bool | None = None  # BOOLEAN
    limit: int | None = None  # QUOTA
    limit_behavior: LimitBehavior | None = None  # QUOTA
    overage_price: int | None = None  # QUOTA (SOFT) and METERED, hundredths of a cent per unit
    included_amount: int | None = None  # METERED
    reset_period: ResetPeriod | None = None  # QUOTA and METERED


@dataclass
class Entitlement:
    id: str
    plan_id: str
    feature_id: str
    feature_lookup_key: str  # copied from the feature: lookup keys and types are immutable
    feature_type: FeatureType
    terms: Terms
    created_at: datetime
    updated_at: datetime
