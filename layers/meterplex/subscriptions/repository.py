"""Subscriptions in the core table (key shapes: docs/data-model/subscriptions.md).

* `TENANT#<t>#SUBS / SUB#<id>`: a subscription (its domain document as JSON, status on top for
  conditions; live ones are on gsi1 `SUBS#LIVE` by period end for the billing scheduler).
* `TENANT#<t>#SUBS / CURRENT`: the pointer to the tenant's current subscription. Every start is
  conditional on the pointer naming what the service saw, so two concurrent subscribes cannot both
  win: at most one ACTIVE/TRIALING subscription per tenant, without read-then-write.
* The hot-path grants of the subscription's snapshot (`entitlements.records`) are written in the
  same transaction, so what `check` sees is always the current subscription's snapshot.
* `TENANT#<t>#SUBS / TRIAL`: the tenant's one trial, claimed (put if absent) in the transaction
  that starts a trialing subscription; never deleted (ADR 0034).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from meterplex.catalog.models import FeatureType, Interval, LimitBehavior, ResetPeriod, Terms
from meterplex.entitlements.keys import GRANT_SK, grant_pk
from meterplex.entitlements.records import GrantRecord, WindowRecord, grant_record, window_record
from meterplex.platform.clock import iso, parse_iso
from meterplex.platform.core_table import CoreItem, core_connection
from meterplex.platform.errors import Conflict, Unavailable
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item
from meterplex.platform.transactions import failed_keys, transaction
from meterplex.subscriptions.models import (
    EntitlementSnapshot,
    FinalBill,
    Subscription,
    SubscriptionStatus,
)

DOMAIN_TOPIC = "meterplex.domain.v1"  # infra/topology.TOPIC_DOMAIN (layers cannot import infra)
POINTER_SK = "CURRENT"
TRIAL_SK = "TRIAL"
LIVE_GSI_PK = "SUBS#LIVE"
MAX_ATTEMPTS = 3  # a concurrent consume can move a counter between our read and our transaction


def counters_busy() -> Unavailable:
    """Concurrent consumes kept moving the grants' counters under every attempt: retry later."""
    return Unavailable("The tenant's usage counters are busy; retry the request", retry_after_s=1)


def subs_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#SUBS"


def sub_sk(subscription_id: str) -> str:
    return f"SUB#{subscription_id}"


class SubscriptionRecord(CoreItem):
    status = UnicodeAttribute()
    doc = UnicodeAttribute()  # the domain document, JSON (mapping below)


class PointerRecord(CoreItem):
    subscriptionId = UnicodeAttribute()


class TrialRecord(CoreItem):
    """The tenant used its trial: with which subscription, when."""

    subscriptionId = UnicodeAttribute()
    usedAt = UnicodeAttribute()


def _trial_claim(sub: Subscription) -> TrialRecord:
    return TrialRecord(
        pk=subs_pk(sub.tenant_id), sk=TRIAL_SK, subscriptionId=sub.id, usedAt=iso(sub.created_at)
    )


def trial_already_used() -> Conflict:
    return Conflict("The tenant has already used its free trial", code="TRIAL_ALREADY_USED")


# -- mapping: domain ⇄ document ---------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def _dt(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def to_document(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "tenantId": sub.tenant_id,
        "planId": sub.plan_id,
        "planSlug": sub.plan_slug,
        "planName": sub.plan_name,
        "priceId": sub.price_id,
        "interval": sub.interval.value,
        "amount": sub.amount,
        "currency": sub.currency,
        "status": sub.status.value,
        "startedAt": iso(sub.started_at),
        "trialEndsAt": _iso(sub.trial_ends_at),
        "currentPeriodStart": iso(sub.current_period_start),
        "currentPeriodEnd": iso(sub.current_period_end),
        "createdAt": iso(sub.created_at),
        "updatedAt": iso(sub.updated_at),
        "cancelAtPeriodEnd": sub.cancel_at_period_end,
        "cancelledAt": _iso(sub.cancelled_at),
        "endedAt": _iso(sub.ended_at),
        "replacedBy": sub.replaced_by,
        "finalBill": None
        if sub.final_bill is None
        else {
            "cancelledAt": iso(sub.final_bill.cancelled_at),
            "periodStart": iso(sub.final_bill.period_start),
            "periodEnd": iso(sub.final_bill.period_end),
            "priceAmount": sub.final_bill.price_amount,
            "currency": sub.final_bill.currency,
            "billable": sub.final_bill.billable,
        },
        "entitlements": [
            {
                "featureId": e.feature_id,
                "featureKey": e.feature_key,
                "featureType": e.feature_type.value,
                "terms": {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(e.terms).items()},
            }
            for e in sub.entitlements
        ],
    }


def _terms(raw: dict[str, Any]) -> Terms:
    return Terms(
        value=raw.get("value"),
        limit=raw.get("limit"),
        limit_behavior=LimitBehavior(raw["limit_behavior"]) if raw.get("limit_behavior") else None,
        overage_price=raw.get("overage_price"),
        included_amount=raw.get("included_amount"),
        reset_period=ResetPeriod(raw["reset_period"]) if raw.get("reset_period") else None,
    )


def from_document(doc: dict[str, Any]) -> Subscription:
    bill = doc.get("finalBill")
    return Subscription(
        id=doc["id"],
        tenant_id=doc["tenantId"],
        plan_id=doc["planId"],
        plan_slug=doc["planSlug"],
        plan_name=doc["planName"],
        price_id=doc["priceId"],
        interval=Interval(doc["interval"]),
        amount=doc["amount"],
        currency=doc["currency"],
        status=SubscriptionStatus(doc["status"]),
        started_at=parse_iso(doc["startedAt"]),
        trial_ends_at=_dt(doc.get("trialEndsAt")),
        current_period_start=parse_iso(doc["currentPeriodStart"]),
        current_period_end=parse_iso(doc["currentPeriodEnd"]),
        created_at=parse_iso(doc["createdAt"]),
        updated_at=parse_iso(doc["updatedAt"]),
        cancel_at_period_end=bool(doc.get("cancelAtPeriodEnd")),
        cancelled_at=_dt(doc.get("cancelledAt")),
        ended_at=_dt(doc.get("endedAt")),
        replaced_by=doc.get("replacedBy"),
        final_bill=None
        if not bill
        else FinalBill(
            cancelled_at=parse_iso(bill["cancelledAt"]),
            period_start=parse_iso(bill["periodStart"]),
            period_end=parse_iso(bill["periodEnd"]),
            price_amount=bill["priceAmount"],
            currency=bill["currency"],
            billable=bill["billable"],
        ),
        entitlements=[
            EntitlementSnapshot(
                feature_id=e["featureId"],
                feature_key=e["featureKey"],
                feature_type=FeatureType(e["featureType"]),
                terms=_terms(e["terms"]),
            )
            for e in doc.get("entitlements", [])
        ],
    )


def to_record(sub: Subscription) -> SubscriptionRecord:
    live = sub.status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
    return SubscriptionRecord(
        pk=subs_pk(sub.tenant_id),
        sk=sub_sk(sub.id),
        status=sub.status.value,
        doc=json.dumps(to_document(sub), separators=(",", ":")),
        gsi1pk=LIVE_GSI_PK if live else None,
        gsi1sk=f"{iso(sub.ended_at or sub.current_period_end)}#{sub.tenant_id}#{sub.id}" if live else None,
    )


def _event(type_: str, sub: Subscription, at: datetime) -> Any:
    data = {k: v for k, v in to_document(sub).items() if k != "entitlements"}
    return outbox_item(DomainEvent.new(type_, tenant_id=sub.tenant_id, at=at, data=data), DOMAIN_TOPIC)


class DynamoSubscriptionRepository:
    def __init__(self) -> None:
        self._connection = core_connection()

    def current(self, tenant_id: str) -> Subscription | None:
        try:
            pointer = PointerRecord.get(subs_pk(tenant_id), POINTER_SK, consistent_read=True)
        except PointerRecord.DoesNotExist:
            return None
        return self.get(tenant_id, pointer.subscriptionId)

    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        try:
            record = SubscriptionRecord.get(subs_pk(tenant_id), sub_sk(subscription_id), consistent_read=True)
        except SubscriptionRecord.DoesNotExist:
            return None
        return from_document(json.loads(record.doc))

    def history(self, tenant_id: str) -> list[Subscription]:
        records = SubscriptionRecord.query(
            subs_pk(tenant_id), SubscriptionRecord.sk.startswith("SUB#"), scan_index_forward=False
        )
        return [from_document(json.loads(r.doc)) for r in records]

    # -- grants ------------------------------------------------------------------------------
    def _grants(self, tenant_id: str, feature_keys: list[str]) -> dict[str, GrantRecord]:
        if not feature_keys:
            return {}
        keys = [(grant_pk(tenant_id, k), GRANT_SK) for k in feature_keys]
        found = {g.pk: g for g in GrantRecord.batch_get(keys, consistent_read=True)}
        return {k: found[grant_pk(tenant_id, k)] for k in feature_keys if grant_pk(tenant_id, k) in found}

    @staticmethod
    def _unchanged(grant: GrantRecord) -> Any:
        """The grant is as we read it: a consume in between makes the transaction retry."""
        return (GrantRecord.subscriptionId == grant.subscriptionId) & (GrantRecord.used == grant.used)

    def _retire_grants(
        self, tx: TransactWrite, tenant_id: str, old: dict[str, GrantRecord], keep: set[str]
    ) -> None:
        """Archive the counters of `old` grants and delete those not overwritten (`keep`)."""
        for key, grant in old.items():
            if grant.used:
                window = window_record(tenant_id, key, grant.subscriptionId, grant.windowStart)
                tx.update(
                    window,
                    actions=[WindowRecord.used.add(grant.used), WindowRecord.windowEnd.set(grant.windowEnd)],
                )
            if key not in keep:
                tx.delete(grant, condition=self._unchanged(grant))

    # -- writes ------------------------------------------------------------------------------
    def start(self, new: Subscription, replaced: Subscription | None) -> None:
        pk = subs_pk(new.tenant_id)
        new_keys = {e.feature_key for e in new.entitlements}
        old_keys = sorted({e.feature_key for e in replaced.entitlements} if replaced else set())
        for attempt in range(MAX_ATTEMPTS):
            old = self._grants(new.tenant_id, sorted(set(old_keys) | new_keys))
            pointer_condition = (
                PointerRecord.pk.does_not_exist()
                if replaced is None
                else PointerRecord.subscriptionId == replaced.id
            )
            tx = transaction(self._connection)
            try:
                with tx:
                    tx.save(
                        PointerRecord(pk=pk, sk=POINTER_SK, subscriptionId=new.id),
                        condition=pointer_condition,
                    )
                    tx.save(to_record(new), condition=SubscriptionRecord.pk.does_not_exist())
                    if new.trial_ends_at is not None:
                        trial = TrialRecord(
                            pk=pk, sk=TRIAL_SK, subscriptionId=new.id, usedAt=iso(new.created_at)
                        )
                        tx.save(trial, condition=TrialRecord.pk.does_not_exist())
                    tx.save(_event("subscription.created", new, new.created_at))
                    if replaced is not None and replaced.replaced_by == new.id:
                        tx.save(to_record(replaced))
                        tx.save(_event("subscription.cancelled", replaced, new.created_at))
                    for snap in new.entitlements:
                        seen = old.get(snap.feature_key)
                        condition = self._unchanged(seen) if seen else GrantRecord.pk.does_not_exist()
                        tx.save(grant_record(new, snap, new.started_at), condition=condition)
                    self._retire_grants(tx, new.tenant_id, old, keep=new_keys)
                return
            except TransactWriteError as error:
                failed = failed_keys(tx, error)
                if (pk, POINTER_SK) in failed:
                    raise Conflict(
                        "The tenant's subscription changed meanwhile; retry", code="SUBSCRIPTION_CHANGED"
                    ) from error
                if (pk, TRIAL_SK) in failed:
                    raise trial_already_used() from error
                if attempt == MAX_ATTEMPTS - 1:
                    raise counters_busy() from error

    def cancel(self, sub: Subscription) -> None:
        pk = subs_pk(sub.tenant_id)
        keys = sorted(e.feature_key for e in sub.entitlements)
        for attempt in range(MAX_ATTEMPTS):
            grants = {
                k: g for k, g in self._grants(sub.tenant_id, keys).items() if g.subscriptionId == sub.id
            }
            tx = transaction(self._connection)
            try:
                with tx:
                    tx.delete(
                        PointerRecord(pk=pk, sk=POINTER_SK), condition=PointerRecord.subscriptionId == sub.id
                    )
                    tx.save(to_record(sub), condition=SubscriptionRecord.status.is_in("ACTIVE", "TRIALING"))
                    tx.save(_event("subscription.cancelled", sub, sub.updated_at))
                    self._retire_grants(tx, sub.tenant_id, grants, keep=set())
                return
            except TransactWriteError as error:
                if {(pk, POINTER_SK), (pk, sub_sk(sub.id))} & failed_keys(tx, error):
                    raise Conflict(
                        f"Subscription {sub.id} is no longer the tenant's current one",
                        code="SUBSCRIPTION_NOT_ACTIVE",
                    ) from error
                if attempt == MAX_ATTEMPTS - 1:
                    raise counters_busy() from error

    def schedule_end(self, sub: Subscription) -> None:
        assert sub.ended_at is not None
        ends_at = iso(sub.ended_at)
        with transaction(self._connection) as tx:
            tx.save(to_record(sub), condition=SubscriptionRecord.status.is_in("ACTIVE", "TRIALING"))
            tx.save(_event("subscription.cancel_scheduled", sub, sub.updated_at))
            for snap in sub.entitlements:
                tx.update(
                    GrantRecord(pk=grant_pk(sub.tenant_id, snap.feature_key), sk=GRANT_SK),
                    actions=[GrantRecord.endsAt.set(ends_at)],
                    condition=GrantRecord.subscriptionId == sub.id,
                )
