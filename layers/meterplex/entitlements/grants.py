"""Grants (a tenant's frozen entitlement + its current window counter) and the answers of the hot
path, as pure functions (SPEC §5 response shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterplex.entitlements.keys import PAST_DUE, UNPAID
from meterplex.periods import usage_window_for
from meterplex.platform.clock import iso, parse_iso

BOOLEAN, QUOTA, METERED, UNKNOWN = "BOOLEAN", "QUOTA", "METERED", "UNKNOWN"
HARD, SOFT = "HARD", "SOFT"


@dataclass(frozen=True)
class Grant:
    tenant_id: str
    feature_key: str
    subscription_id: str
    feature_type: str
    started_at: str  # ISO; the window arithmetic parses these lazily
    window_start: str
    window_end: str
    used: int = 0
    value: bool | None = None
    limit: int | None = None
    limit_behavior: str | None = None
    overage_price: int | None = None
    included_amount: int | None = None
    reset_period: str | None = None
    trial_ends_at: str | None = None
    ends_at: str | None = None
    ingested: int = 0  # the parts of `used`: from usage events, and from consumes (ADR 0070)
    consumed: int = 0
    throughput: str | None = None  # "HIGH": leases or sharded counters (ADR 0071)
    standing: str | None = None  # PAST_DUE | UNPAID while the tenant's payments are in dunning

    @property
    def past_due(self) -> bool:
        return self.standing in (PAST_DUE, UNPAID)

    @property
    def blocked_by_payment(self) -> bool:
        """UNPAID blocks QUOTA and METERED usage (SPEC §8.2); BOOLEAN features keep working."""
        return self.standing == UNPAID and self.feature_type in (QUOTA, METERED)

    def ended(self, now: datetime) -> bool:
        return self.ends_at is not None and parse_iso(self.ends_at) <= now

    def current_window(self, now: datetime) -> tuple[datetime, datetime | None]:
        trial = parse_iso(self.trial_ends_at) if self.trial_ends_at else None
        return usage_window_for(self.reset_period or "MONTHLY", parse_iso(self.started_at), trial, now)

    def used_now(self, now: datetime) -> int:
        """Units used in the window containing `now` (0 when the stored window is an older one)."""
        start, _ = self.current_window(now)
        return self.used if self.window_start == iso(start) else 0

    @property
    def allowance(self) -> int:
        """What the window includes: the QUOTA limit or the METERED included amount."""
        return (self.limit if self.feature_type == QUOTA else self.included_amount) or 0

    @property
    def is_hard(self) -> bool:
        return self.feature_type == QUOTA and self.limit_behavior != SOFT

    @property
    def high_throughput(self) -> bool:
        """Consumes take the high-throughput path (leases or counter shards)."""
        return self.throughput == "HIGH" and self.feature_type in {QUOTA, METERED}

    @property
    def sharded(self) -> bool:
        """Readers add the window's counter shards: on the high-throughput path, or switched back
        from it (DRAINING: the shards may still hold units consumed before the switch)."""
        return self.throughput in {"HIGH", "DRAINING"} and self.feature_type in {QUOTA, METERED}

    @property
    def room(self) -> int:
        """Units a HARD limit still allows in the stored window."""
        return max(0, (self.limit or 0) - self.used)


class ConsumeRejected(Exception):
    """A consume's condition failed; `grant` is the item as it was (None: there is no grant)."""

    def __init__(self, grant: Grant | None) -> None:
        super().__init__("consume rejected")
        self.grant = grant


@dataclass(frozen=True)
class Claim:
    """An idempotency key already consumed: the request it answered, and that answer (stored in
    the same transaction as the units it counted; None only for a claim older than that rule)."""

    feature_key: str
    amount: int
    answer: dict[str, Any] | None

    def answers(self, feature_key: str, amount: int) -> bool:
        """Is this the claim of the same request (SPEC §0: same key, same feature and amount)?"""
        return (self.feature_key, self.amount) == (feature_key, amount)


@dataclass(frozen=True)
class CounterMoved:
    """A keyed consume lost a race: the grant changed since it was read; `grant` is it now."""

    grant: Grant | None


def not_in_plan(feature_key: str, reason: str) -> dict[str, Any]:
    return {"allowed": False, "feature": feature_key, "type": UNKNOWN, "reason": reason}


def check_answer(grant: Grant | None, feature_key: str, amount: int, now: datetime) -> dict[str, Any]:
    """The body of `GET /entitlements/{featureKey}/check` (always 200)."""
    if grant is None:
        return not_in_plan(feature_key, "The feature is not in the tenant's plan")
    if grant.ended(now):
        return not_in_plan(feature_key, "The tenant's subscription has ended")
    standing = {"pastDue": True} if grant.past_due else {}
    if grant.feature_type == BOOLEAN:
        return {"allowed": bool(grant.value), "feature": feature_key, "type": BOOLEAN, **standing}
    used = grant.used_now(now)
    _, end = grant.current_window(now)
    reset_at = iso(end) if end else None
    payable = not grant.blocked_by_payment
    if grant.feature_type == QUOTA:
        limit = grant.limit or 0
        return {
            "allowed": payable and (grant.limit_behavior == SOFT or used + amount <= limit),
            "feature": feature_key,
            "type": QUOTA,
            "limit": limit,
            "used": used,
            "remaining": max(0, limit - used),
            "resetAt": reset_at,
            "limitBehavior": grant.limit_behavior or HARD,
            **standing,
        }
    included = grant.included_amount or 0
    return {
        "allowed": payable,
        "feature": feature_key,
        "type": METERED,
        "includedAmount": included,
        "used": used,
        "overage": max(0, used - included),
        "resetAt": reset_at,
        **standing,
    }


def consume_answer(grant: Grant, feature_key: str, consumed: int) -> dict[str, Any]:
    """The body of a successful `POST /entitlements/{featureKey}/consume`; `grant` is after it."""
    allowance = grant.allowance
    return {
        "allowed": True,
        "feature": feature_key,
        "consumed": consumed,
        "used": grant.used,
        "remaining": max(0, allowance - grant.used),
        "overage": 0 if grant.is_hard else max(0, grant.used - allowance),
        **({"pastDue": True} if grant.past_due else {}),
    }
