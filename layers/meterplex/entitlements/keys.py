"""Key shapes and attribute names of the hot-path items (docs/data-model/entitlements.md).

Shared by the hot-path store (raw botocore) and the subscription repository (PynamoDB models), so
each name is spelled once. Pure: no AWS imports.

One *grant* item per (tenant, feature) holds the subscription's frozen entitlement **and** the
current usage window's counter, so a check is one GetItem and a consume one conditional UpdateItem.
Closed windows are archived as *window* items in the same item collection.
"""

from __future__ import annotations

GRANT_SK = "GRANT"
HIGH_THROUGHPUT = "HIGH"  # a grant's `throughput`: leases (HARD) or sharded counters (ADR 0071)
# Switched back to the single-item path: consumes write the grant again, but its shards may still
# hold units of the window, so readers keep adding them (ADR 0071).
DRAINING = "DRAINING"
# A high-throughput SOFT/METERED grant counts consumes on COUNTER_SHARDS items per usage window as
# well as on the grant; every reader of a window's units reads them all. Changing it loses counts.
COUNTER_SHARDS = 8
NEVER_ENDS = "9999-12-31T23:59:59.999Z"  # windowEnd of a NEVER-reset window (sorts after any moment)
IDEMPOTENCY_TTL_DAYS = 7
PAST_DUE, UNPAID = "PAST_DUE", "UNPAID"  # grant `standing` values (absent: the tenant is in good standing)


def grant_pk(tenant_id: str, feature_key: str) -> str:
    return f"TENANT#{tenant_id}#FEAT#{feature_key}"


def window_sk(subscription_id: str, window_start: str) -> str:
    return f"WINDOW#{subscription_id}#{window_start}"


def shard_pk(tenant_id: str, feature_key: str, shard: int) -> str:
    """A counter shard's partition (its sort key is the window's, `window_sk`): each shard is its
    own partition, so N shards take N times one item's write rate."""
    return f"{grant_pk(tenant_id, feature_key)}#SHARD#{shard}"


def consume_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CONSUME"


def consume_sk(idempotency_key: str) -> str:
    return f"IDEM#{idempotency_key}"


class Attr:
    """Attribute names of grant, window and idempotency items."""

    SUBSCRIPTION_ID = "subscriptionId"
    FEATURE_TYPE = "featureType"
    VALUE = "value"
    LIMIT = "limit"
    LIMIT_BEHAVIOR = "limitBehavior"
    OVERAGE_PRICE = "overagePrice"
    INCLUDED_AMOUNT = "includedAmount"
    RESET_PERIOD = "resetPeriod"
    STARTED_AT = "startedAt"
    TRIAL_ENDS_AT = "trialEndsAt"
    ENDS_AT = "endsAt"
    WINDOW_START = "windowStart"
    WINDOW_END = "windowEnd"
    USED = "used"  # units counted in the current window: consumed + ingested (ADR 0013)
    # The two parts of `used`, kept with it in the same writes, so reconciliation can compare each
    # with its source: `ingested` with the window's accepted usage events (ADR 0070).
    INGESTED = "ingested"
    CONSUMED = "consumed"
    THROUGHPUT = "throughput"  # absent: the single-item path; HIGH_THROUGHPUT or DRAINING: ADR 0071
    ROOM = "room"  # allowance - used, kept with `used` so a HARD limit is a plain condition
    AMOUNT = "amount"
    FEATURE = "feature"  # the claim's feature: with `amount`, the request a key is bound to
    ANSWER = "answer"
    EXPIRES_AT = "expiresAt"
    STANDING = "standing"  # the tenant's payment standing when not ACTIVE: PAST_DUE | UNPAID (ADR 0060)
