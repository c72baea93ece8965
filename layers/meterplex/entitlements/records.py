"""PynamoDB views of the hot-path items, for writers that need them in a TransactWrite
(subscribing, plan changes, cancellation). The hot path itself uses raw calls (`store.py`)."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from meterplex.entitlements.keys import GRANT_SK, NEVER_ENDS, grant_pk, window_sk
from meterplex.platform.clock import iso
from meterplex.platform.core_table import CoreItem
from meterplex.subscriptions.models import EntitlementSnapshot, Subscription
from meterplex.subscriptions.periods import usage_window_for


class GrantRecord(CoreItem):
    """Attribute names match `keys.Attr` (the hot path reads them raw)."""

    subscriptionId = UnicodeAttribute()
    featureType = UnicodeAttribute()
    value = BooleanAttribute(null=True)
    limit = NumberAttribute(null=True)
    limitBehavior = UnicodeAttribute(null=True)
    overagePrice = NumberAttribute(null=True)
    includedAmount = NumberAttribute(null=True)
    resetPeriod = UnicodeAttribute(null=True)
    startedAt = UnicodeAttribute()
    trialEndsAt = UnicodeAttribute(null=True)
    endsAt = UnicodeAttribute(null=True)
    windowStart = UnicodeAttribute()
    windowEnd = UnicodeAttribute()
    used = NumberAttribute(default=0)
    room = NumberAttribute(default=0)


class WindowRecord(CoreItem):
    """A closed (or archived) usage window's counter: what the invoice of that period bills."""

    used = NumberAttribute(default=0)
    windowEnd = UnicodeAttribute(null=True)


def grant_record(sub: Subscription, snap: EntitlementSnapshot, at: datetime) -> GrantRecord:
    """A fresh grant for `snap`, its window opened at `at` with nothing used."""
    t = snap.terms
    reset = t.reset_period.value if t.reset_period else "MONTHLY"
    start, end = usage_window_for(reset, sub.started_at, sub.trial_ends_at, at)
    allowance = (t.limit if snap.feature_type.value == "QUOTA" else t.included_amount) or 0
    consumable = snap.feature_type.value != "BOOLEAN"
    return GrantRecord(
        pk=grant_pk(sub.tenant_id, snap.feature_key),
        sk=GRANT_SK,
        subscriptionId=sub.id,
        featureType=snap.feature_type.value,
        value=t.value,
        limit=t.limit,
        limitBehavior=t.limit_behavior.value if t.limit_behavior else None,
        overagePrice=t.overage_price,
        includedAmount=t.included_amount,
        resetPeriod=t.reset_period.value if consumable and t.reset_period else None,
        startedAt=iso(sub.started_at),
        trialEndsAt=iso(sub.trial_ends_at) if sub.trial_ends_at else None,
        windowStart=iso(start),
        windowEnd=iso(end) if end else NEVER_ENDS,
        used=0,
        room=allowance,
    )


def window_record(tenant_id: str, feature_key: str, subscription_id: str, window_start: str) -> WindowRecord:
    return WindowRecord(pk=grant_pk(tenant_id, feature_key), sk=window_sk(subscription_id, window_start))
