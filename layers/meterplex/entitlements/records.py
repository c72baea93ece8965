"""PynamoDB views of the hot-path items, and the grant writes other capabilities stage in their
own transactions (subscribing, plan changes, cancellation). The hot path itself uses raw calls
(`store.py`); key shapes are spelled only here and in `keys.py`.

Subscriptions call these with a `GrantSpec` (what a grant is made from), never with their own
domain type: entitlements does not import subscriptions, and subscriptions never spell a grant key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.transactions import TransactWrite

from meterplex.catalog.models import FeatureType, Terms
from meterplex.entitlements.keys import GRANT_SK, NEVER_ENDS, grant_pk, window_sk
from meterplex.periods import usage_window_for
from meterplex.platform.clock import iso
from meterplex.platform.core_table import CoreItem


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
    ingested = NumberAttribute(null=True)  # the parts of `used` (ADR 0070)
    consumed = NumberAttribute(null=True)
    standing = UnicodeAttribute(null=True)  # PAST_DUE | UNPAID while the tenant is in dunning


class WindowRecord(CoreItem):
    """A closed (or archived) usage window's counter: what the invoice of that period bills."""

    used = NumberAttribute(default=0)
    ingested = NumberAttribute(null=True)
    consumed = NumberAttribute(null=True)
    windowEnd = UnicodeAttribute(null=True)


@dataclass(frozen=True)
class GrantSpec:
    """What a grant is made from: one frozen entitlement of one subscription."""

    tenant_id: str
    subscription_id: str
    started_at: datetime
    trial_ends_at: datetime | None
    feature_key: str
    feature_type: FeatureType
    terms: Terms


def grant_record(spec: GrantSpec, at: datetime, standing: str | None = None) -> GrantRecord:
    """A fresh grant for `spec`, its window opened at `at` with nothing used."""
    t = spec.terms
    reset = t.reset_period.value if t.reset_period else "MONTHLY"
    start, end = usage_window_for(reset, spec.started_at, spec.trial_ends_at, at)
    allowance = (t.limit if spec.feature_type is FeatureType.QUOTA else t.included_amount) or 0
    consumable = spec.feature_type is not FeatureType.BOOLEAN
    return GrantRecord(
        pk=grant_pk(spec.tenant_id, spec.feature_key),
        sk=GRANT_SK,
        subscriptionId=spec.subscription_id,
        featureType=spec.feature_type.value,
        value=t.value,
        limit=t.limit,
        limitBehavior=t.limit_behavior.value if t.limit_behavior else None,
        overagePrice=t.overage_price,
        includedAmount=t.included_amount,
        resetPeriod=t.reset_period.value if consumable and t.reset_period else None,
        startedAt=iso(spec.started_at),
        trialEndsAt=iso(spec.trial_ends_at) if spec.trial_ends_at else None,
        windowStart=iso(start),
        windowEnd=iso(end) if end else NEVER_ENDS,
        used=0,
        room=allowance,
        standing=standing,
    )


def window_record(tenant_id: str, feature_key: str, subscription_id: str, window_start: str) -> WindowRecord:
    return WindowRecord(pk=grant_pk(tenant_id, feature_key), sk=window_sk(subscription_id, window_start))


# -- writes staged in another capability's transaction -----------------------------------------
def current_grants(tenant_id: str, feature_keys: Iterable[str]) -> dict[str, GrantRecord]:
    """The tenant's grant items of `feature_keys` that exist (consistent BatchGetItem)."""
    keys = sorted(set(feature_keys))
    if not keys:
        return {}
    found = {
        g.pk: g
        for g in GrantRecord.batch_get(
            [(grant_pk(tenant_id, k), GRANT_SK) for k in keys], consistent_read=True
        )
    }
    return {k: found[grant_pk(tenant_id, k)] for k in keys if grant_pk(tenant_id, k) in found}


def unchanged(grant: GrantRecord) -> Any:
    """The grant is as we read it: a consume in between makes the transaction fail (and retry)."""
    return (GrantRecord.subscriptionId == grant.subscriptionId) & (GrantRecord.used == grant.used)


def stage_grant(
    tx: TransactWrite, spec: GrantSpec, at: datetime, seen: GrantRecord | None, standing: str | None = None
) -> None:
    """Put a fresh grant for `spec`, conditional on the item being as read (`seen`) or absent;
    `standing`: the tenant's payment standing, carried onto the new grant (ADR 0060)."""
    condition = unchanged(seen) if seen else GrantRecord.pk.does_not_exist()
    tx.save(grant_record(spec, at, standing), condition=condition)


def stage_standing(
    tx: TransactWrite, tenant_id: str, subscription_id: str, feature_keys: Iterable[str], standing: str | None
) -> None:
    """Set (or, with None, remove) the payment standing on the subscription's grants, each
    conditional on still being that subscription's grant (a plan change in between: retry)."""
    for key in sorted(set(feature_keys)):
        action = GrantRecord.standing.set(standing) if standing else GrantRecord.standing.remove()
        tx.update(
            GrantRecord(pk=grant_pk(tenant_id, key), sk=GRANT_SK),
            actions=[action],
            condition=GrantRecord.subscriptionId == subscription_id,
        )


def stage_retire(tx: TransactWrite, tenant_id: str, old: dict[str, GrantRecord], keep: set[str]) -> None:
    """Archive the counters of `old` grants and delete those not overwritten (`keep`)."""
    for key, grant in old.items():
        if grant.used:
            window = window_record(tenant_id, key, grant.subscriptionId, grant.windowStart)
            tx.update(
                window,
                actions=[
                    WindowRecord.used.add(grant.used),
                    WindowRecord.ingested.add(grant.ingested or 0),
                    WindowRecord.consumed.add(grant.consumed or 0),
                    WindowRecord.windowEnd.set(grant.windowEnd),
                ],
            )
        if key not in keep:
            tx.delete(grant, condition=unchanged(grant))


def stage_end(
    tx: TransactWrite, tenant_id: str, feature_key: str, subscription_id: str, ends_at: datetime
) -> None:
    """Make the subscription's grant stop granting at `ends_at` (cancel at period end)."""
    tx.update(
        GrantRecord(pk=grant_pk(tenant_id, feature_key), sk=GRANT_SK),
        actions=[GrantRecord.endsAt.set(iso(ends_at))],
        condition=GrantRecord.subscriptionId == subscription_id,
    )
