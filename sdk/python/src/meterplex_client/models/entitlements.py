"""The hot path (SPEC §5): check and consume answers."""

from __future__ import annotations

from datetime import datetime

from meterplex_client.models.base import Body, Model

BOOLEAN, QUOTA, METERED, UNKNOWN = "BOOLEAN", "QUOTA", "METERED", "UNKNOWN"
API_UNREACHABLE = "API_UNREACHABLE"


class EntitlementCheck(Model):
    """`GET /entitlements/{featureKey}/check`. `cached` and `degraded` are the SDK's own flags:
    answered from the local cache, or made up by the fail-open/closed setting (ADR 0057)."""

    CLIENT_FIELDS = frozenset({"cached", "degraded"})

    allowed: bool
    feature: str
    type: str
    reason: str | None = None
    limit: int | None = None
    used: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    limit_behavior: str | None = None
    included_amount: int | None = None
    overage: int | None = None
    past_due: bool | None = None
    cached: bool = False
    degraded: bool = False


class ConsumeResult(Model):
    """`POST /entitlements/{featureKey}/consume` (200)."""

    CLIENT_FIELDS = frozenset({"degraded", "idempotency_key"})

    allowed: bool
    feature: str
    consumed: int
    used: int | None = None
    remaining: int | None = None
    overage: int | None = None
    past_due: bool | None = None  # an invoice of the tenant is in dunning (SPEC §8.2)
    degraded: bool = False
    idempotency_key: str | None = None


class ConsumeRequest(Body):
    amount: int = 1
    idempotency_key: str | None = None
