"""Subscriptions in the core table (key shapes: docs/data-model/subscriptions.md).

* `TENANT#<t>#SUBS / SUB#<id>`: a subscription (its domain document as JSON; `status` and billing's
  position `billedThrough` on top for conditions). While billing has something to do for it, it is
  on the **due index**: gsi1 `SUBS#DUE#<shard>` / `<dueAt>#<tenant>#<id>` (ADR 0043).
* `TENANT#<t>#SUBS / CURRENT`: the pointer to the tenant's current subscription. Every start is
  conditional on the pointer naming what the service saw, so two concurrent subscribes cannot both
  win: at most one ACTIVE/TRIALING subscription per tenant, without read-then-write.
* The hot-path grants of the subscription's snapshot (`entitlements.records`) are written in the
  same transaction, so what `check` sees is always the current subscription's snapshot.
* `TENANT#<t>#SUBS / TRIAL`: the tenant's one trial, claimed (put if absent) in the transaction
  that starts a trialing subscription; never deleted (ADR 0034).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from meterplex.entitlements.records import (
    GrantSpec,
    current_grants,
    stage_end,
    stage_grant,
    stage_retire,
)
from meterplex.platform import topics
from meterplex.platform.clock import iso, parse_iso
from meterplex.platform.core_table import GSI1, CoreItem, core_connection
from meterplex.platform.errors import Conflict, Unavailable
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item, stage_events
from meterplex.platform.transactions import failed_keys, transaction
from meterplex.subscriptions.documents import SUB_PREFIX, from_document, sub_sk, subs_pk, to_document
from meterplex.subscriptions.events import CANCEL_SCHEDULED, CANCELLED, CREATED, subscription_event
from meterplex.subscriptions.models import EntitlementSnapshot, Subscription, billing_due_at
from meterplex.subscriptions.standing import read_standing, stage_unchanged

POINTER_SK = "CURRENT"
TRIAL_SK = "TRIAL"
DUE_SHARDS = 4  # the due index's partitions: its writes never concentrate on one (ADR 0043)
MAX_ATTEMPTS = 3  # a concurrent consume can move a counter between our read and our transaction


def due_pk(shard: int) -> str:
    return f"SUBS#DUE#{shard}"


def shard_of(tenant_id: str) -> int:
    return int.from_bytes(hashlib.sha256(tenant_id.encode()).digest()[:4], "big") % DUE_SHARDS


class SubscriptionRecord(CoreItem):
    status = UnicodeAttribute()
    billedThrough = UnicodeAttribute(null=True)  # billing's position (conditions: ADR 0043)
    doc = UnicodeAttribute()  # the domain document, JSON (subscriptions.documents)


@dataclass(frozen=True)
class DueSubscription:
    tenant_id: str
    subscription_id: str
    due_at: datetime


def unchanged(sub: Subscription) -> Any:
    """The stored subscription still has `sub`'s status and billing position (what was read)."""
    return (SubscriptionRecord.status == sub.status.value) & (
        SubscriptionRecord.billedThrough == iso(sub.billing_position)
    )


class PointerRecord(CoreItem):
    subscriptionId = UnicodeAttribute()


class TrialRecord(CoreItem):
    """The tenant used its trial: with which subscription, when."""

    subscriptionId = UnicodeAttribute()
    usedAt = UnicodeAttribute()


def counters_busy() -> Unavailable:
    """Concurrent consumes kept moving the grants' counters under every attempt: retry later."""
    return Unavailable("The tenant's usage counters are busy; retry the request", retry_after_s=1)


def trial_already_used() -> Conflict:
    return Conflict("The tenant has already used its free trial", code="TRIAL_ALREADY_USED")


def to_record(sub: Subscription) -> SubscriptionRecord:
    due = billing_due_at(sub)
    return SubscriptionRecord(
        pk=subs_pk(sub.tenant_id),
        sk=sub_sk(sub.id),
        status=sub.status.value,
        billedThrough=iso(sub.billing_position),
        doc=json.dumps(to_document(sub), separators=(",", ":")),
        gsi1pk=due_pk(shard_of(sub.tenant_id)) if due else None,
        gsi1sk=f"{iso(due)}#{sub.tenant_id}#{sub.id}" if due else None,
    )


def _position_unchanged(sub: Subscription) -> Any:
    return SubscriptionRecord.billedThrough == iso(sub.billing_position)


def _live_and_unmoved(sub: Subscription) -> Any:
    return SubscriptionRecord.status.is_in("ACTIVE", "TRIALING") & _position_unchanged(sub)


def subscription_changed() -> Conflict:
    return Conflict("The tenant's subscription changed meanwhile; retry", code="SUBSCRIPTION_CHANGED")


def grant_spec(sub: Subscription, snap: EntitlementSnapshot) -> GrantSpec:
    return GrantSpec(
        tenant_id=sub.tenant_id,
        subscription_id=sub.id,
        started_at=sub.started_at,
        trial_ends_at=sub.trial_ends_at,
        feature_key=snap.feature_key,
        feature_type=snap.feature_type,
        terms=snap.terms,
    )


def _event(type_: str, sub: Subscription, at: datetime) -> Any:
    return outbox_item(subscription_event(type_, sub, at), topics.DOMAIN)


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
            subs_pk(tenant_id), SubscriptionRecord.sk.startswith(SUB_PREFIX), scan_index_forward=False
        )
        return [from_document(json.loads(r.doc)) for r in records]

    # -- writes ------------------------------------------------------------------------------
    def start(self, new: Subscription, replaced: Subscription | None, audit: DomainEvent) -> None:
        pk = subs_pk(new.tenant_id)
        new_keys = {e.feature_key for e in new.entitlements}
        old_keys = sorted({e.feature_key for e in replaced.entitlements} if replaced else set())
        for attempt in range(MAX_ATTEMPTS):
            old = current_grants(new.tenant_id, set(old_keys) | new_keys)
            standing = read_standing(new.tenant_id)  # a plan change keeps the tenant's dunning (ADR 0060)
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
                    tx.save(_event(CREATED, new, new.created_at))
                    stage_events(tx, [audit])
                    if new.trial_ends_at is not None:
                        trial = TrialRecord(
                            pk=pk, sk=TRIAL_SK, subscriptionId=new.id, usedAt=iso(new.created_at)
                        )
                        tx.save(trial, condition=TrialRecord.pk.does_not_exist())
                    if replaced is not None and replaced.replaced_by == new.id:
                        # conditional on billing not having moved it since it was read
                        tx.save(to_record(replaced), condition=_position_unchanged(replaced))
                        tx.save(_event(CANCELLED, replaced, new.created_at))
                    for snap in new.entitlements:
                        stage_grant(
                            tx,
                            grant_spec(new, snap),
                            new.started_at,
                            old.get(snap.feature_key),
                            standing.grant_value,
                        )
                    stage_retire(tx, new.tenant_id, old, keep=new_keys)
                    stage_unchanged(tx, standing)
                return
            except TransactWriteError as error:
                failed = failed_keys(tx, error)
                if (pk, POINTER_SK) in failed or (replaced and (pk, sub_sk(replaced.id)) in failed):
                    raise subscription_changed() from error
                if (pk, TRIAL_SK) in failed:
                    raise trial_already_used() from error
                if attempt == MAX_ATTEMPTS - 1:
                    raise counters_busy() from error

    def cancel(self, sub: Subscription, audit: DomainEvent) -> None:
        pk = subs_pk(sub.tenant_id)
        keys = sorted(e.feature_key for e in sub.entitlements)
        for attempt in range(MAX_ATTEMPTS):
            grants = {
                k: g for k, g in current_grants(sub.tenant_id, keys).items() if g.subscriptionId == sub.id
            }
            tx = transaction(self._connection)
            try:
                with tx:
                    tx.delete(
                        PointerRecord(pk=pk, sk=POINTER_SK), condition=PointerRecord.subscriptionId == sub.id
                    )
                    tx.save(to_record(sub), condition=_live_and_unmoved(sub))
                    tx.save(_event(CANCELLED, sub, sub.updated_at))
                    stage_events(tx, [audit])
                    stage_retire(tx, sub.tenant_id, grants, keep=set())
                return
            except TransactWriteError as error:
                if {(pk, POINTER_SK), (pk, sub_sk(sub.id))} & failed_keys(tx, error):
                    raise Conflict(
                        f"Subscription {sub.id} is no longer the tenant's current one",
                        code="SUBSCRIPTION_NOT_ACTIVE",
                    ) from error
                if attempt == MAX_ATTEMPTS - 1:
                    raise counters_busy() from error

    def schedule_end(self, sub: Subscription, audit: DomainEvent) -> None:
        assert sub.ended_at is not None
        tx = transaction(self._connection)
        try:
            with tx:
                tx.save(to_record(sub), condition=_live_and_unmoved(sub))
                tx.save(_event(CANCEL_SCHEDULED, sub, sub.updated_at))
                stage_events(tx, [audit])
                for snap in sub.entitlements:
                    stage_end(tx, sub.tenant_id, snap.feature_key, sub.id, sub.ended_at)
        except TransactWriteError as error:
            if (subs_pk(sub.tenant_id), sub_sk(sub.id)) in failed_keys(tx, error):
                raise subscription_changed() from error
            raise

    # -- billing's port (ADR 0043) -----------------------------------------------------------
    def due(self, as_of: datetime) -> Iterator[DueSubscription]:
        """Every subscription with a billing step due at or before `as_of` (the due index, one
        Query per shard; eventually consistent: a step settled a moment ago may still appear)."""
        bound = iso(as_of + timedelta(milliseconds=1))
        for shard in range(DUE_SHARDS):
            for record in SubscriptionRecord.query(
                due_pk(shard), SubscriptionRecord.gsi1sk < bound, index_name=GSI1
            ):
                due_at, tenant_id, subscription_id = str(record.gsi1sk).split("#", 2)
                yield DueSubscription(tenant_id, subscription_id, parse_iso(due_at))

    def billable(self) -> Iterator[Subscription]:
        """Every subscription still to be billed — the live ones, and cancelled ones awaiting their
        final invoice — from the due index (one Query per shard, reads proportional to them)."""
        for shard in range(DUE_SHARDS):
            for record in SubscriptionRecord.query(due_pk(shard), index_name=GSI1):
                yield from_document(json.loads(record.doc))

    @staticmethod
    def stage_settlement(
        tx: TransactWrite, before: Subscription, after: Subscription, event: str | None
    ) -> None:
        """Write `after` (billing settled a step) in billing's transaction, iff the stored
        subscription is still `before`; with its domain event, if the step has one."""
        tx.save(to_record(after), condition=unchanged(before))
        if event is not None:
            tx.save(_event(event, after, after.updated_at))

    @staticmethod
    def key_of(sub: Subscription) -> tuple[str, str]:
        """The subscription item's key, to tell which condition of a transaction failed."""
        return subs_pk(sub.tenant_id), sub_sk(sub.id)
