"""`usage.threshold_reached` (SPEC §8.3, ADR 0080): a QUOTA limit or METERED included amount
crossed at 80 % and 100 %, once per usage window, found off the hot path.

* `crossed(before, after, allowance)` is the rule, pure over three numbers, so it applies to any
  counter representation (a sharded counter passes its totals).
* `threshold_messages(record)` applies it to a grant item's MODIFY record on the core table's
  stream (OldImage → NewImage); `outbox_relay` runs `ThresholdWatcher` as the core table's watcher
  and produces what it returns to `meterplex.domain.v1` (a DynamoDB stream shard allows two
  readers: ADR 0080).
* A grant whose readers add counter shards (high-throughput or draining, ADR 0071) has no single
  item whose images hold the total: its grant and shard records only mark it *touched*; once per
  relay batch the watcher reads the total (grant + shards, ONE TransactGetItems per touched grant)
  and reports every threshold the total has reached (level, not edge: the deterministic event id
  and the dispatcher's conditional put make a repeat a no-op; a warm relay remembers what it sent).
* The event id is a UUIDv5 of (tenant, feature, subscription, window start, threshold): replays
  and relay retries carry the same id, so the dispatcher's deliveries stay one per endpoint.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from meterplex.entitlements.grants import METERED, QUOTA, Grant
from meterplex.entitlements.keys import GRANT_SK, window_sk
from meterplex.entitlements.store import grant_from_item
from meterplex.platform import topics
from meterplex.platform.clock import iso
from meterplex.platform.events import ENVELOPE_VERSION, DomainEvent
from meterplex.platform.relay import OutboxMessage

THRESHOLD_REACHED = "usage.threshold_reached"
THRESHOLDS: tuple[int, ...] = (80, 100)  # percent of the window's allowance
RESOURCE = "usage_counter"
_NAMESPACE = uuid.UUID("5f0d7c1e-2b8a-4a64-9c1e-7d3b5a9e0f21")
_PREFIX = "TENANT#"
_FEATURE = "#FEAT#"
_SHARD = "#SHARD#"
_WINDOW = "WINDOW#"
REMEMBERED = 10_000  # event ids a warm relay remembers having sent


def crossed(
    before: int, after: int, allowance: int, thresholds: Sequence[int] = THRESHOLDS
) -> tuple[int, ...]:
    """The thresholds (percent) a counter crossed going from `before` to `after` units: reached
    means `used ≥ allowance × t / 100` (integer arithmetic, no rounding). None for an allowance of 0
    (nothing is included: there is nothing to approach) or a counter that did not grow."""
    if allowance <= 0 or after <= before:
        return ()
    return tuple(t for t in thresholds if before * 100 < allowance * t <= after * 100)


@dataclass(frozen=True)
class ThresholdReached:
    tenant_id: str
    feature: str
    feature_type: str
    subscription_id: str
    window_start: str
    window_end: str
    threshold: int
    used: int
    allowance: int
    limit_behavior: str | None

    @property
    def event_id(self) -> str:
        name = "\x00".join(
            (self.tenant_id, self.feature, self.subscription_id, self.window_start, str(self.threshold))
        )
        return str(uuid.uuid5(_NAMESPACE, name))

    def event(self, at: datetime) -> DomainEvent:
        changes = {
            "feature": self.feature,
            "featureType": self.feature_type,
            "threshold": self.threshold,
            "used": self.used,
            "allowance": self.allowance,
            "limitBehavior": self.limit_behavior,
            "subscriptionId": self.subscription_id,
            "windowStart": self.window_start,
            "windowEnd": self.window_end,
        }
        return DomainEvent(
            type=THRESHOLD_REACHED,
            tenantId=self.tenant_id,
            occurredAt=iso(at),
            data={"resource": RESOURCE, "resourceId": self.feature, "changes": changes},
            id=self.event_id,
            version=ENVELOPE_VERSION,
        )


def thresholds_reached(before: Grant | None, after: Grant) -> list[ThresholdReached]:
    """What one change of a grant reached: the counter before is 0 when the window or the
    subscription changed (a roll or a plan change starts a new counter)."""
    if after.feature_type not in (QUOTA, METERED):
        return []
    same_window = (
        before is not None
        and before.subscription_id == after.subscription_id
        and before.window_start == after.window_start
    )
    used_before = before.used if same_window and before is not None else 0
    return [_reached(after, t, after.used) for t in crossed(used_before, after.used, after.allowance)]


def _reached(grant: Grant, threshold: int, used: int) -> ThresholdReached:
    return ThresholdReached(
        tenant_id=grant.tenant_id,
        feature=grant.feature_key,
        feature_type=grant.feature_type,
        subscription_id=grant.subscription_id,
        window_start=grant.window_start,
        window_end=grant.window_end,
        threshold=threshold,
        used=used,
        allowance=grant.allowance,
        limit_behavior=grant.limit_behavior,
    )


def _grant_owner(keys: dict[str, Any]) -> tuple[str, str] | None:
    """(tenant id, feature) of a grant's keys `TENANT#<t>#FEAT#<feature>` / `GRANT`."""
    pk = (keys.get("pk") or {}).get("S", "")
    sk = (keys.get("sk") or {}).get("S", "")
    if sk != GRANT_SK or not pk.startswith(_PREFIX) or _FEATURE not in pk:
        return None
    tenant_id, _, feature = pk[len(_PREFIX) :].partition(_FEATURE)
    return (tenant_id, feature) if tenant_id and feature else None


def reached_by_total(grant: Grant, total: int) -> list[ThresholdReached]:
    """Every threshold a window's total has reached (level: for counters seen only as a total)."""
    if grant.feature_type not in (QUOTA, METERED) or grant.allowance <= 0:
        return []
    return [_reached(grant, t, total) for t in THRESHOLDS if grant.allowance * t <= total * 100]


def _shard_owner(keys: dict[str, Any]) -> tuple[str, str] | None:
    """(tenant id, feature) of a counter shard's keys `TENANT#<t>#FEAT#<f>#SHARD#<n>` / `WINDOW#…`."""
    pk = (keys.get("pk") or {}).get("S", "")
    sk = (keys.get("sk") or {}).get("S", "")
    if not sk.startswith(_WINDOW) or _SHARD not in pk:
        return None
    grant_pk = pk.rsplit(_SHARD, 1)[0]
    return _grant_owner({"pk": {"S": grant_pk}, "sk": {"S": GRANT_SK}})


def _at(dynamodb: dict[str, Any]) -> datetime:
    created = dynamodb.get("ApproximateCreationDateTime")
    return (
        datetime.fromtimestamp(float(created), UTC) if isinstance(created, int | float) else datetime.now(UTC)
    )


class ShardTotals(Protocol):
    """`meterplex.entitlements.store.GrantStore`."""

    def get(self, tenant_id: str, feature_key: str) -> Grant | None: ...
    def with_shards(self, grant: Grant, window_start: str) -> tuple[Grant | None, list[int]]: ...


class ThresholdWatcher:
    """The relay's watcher of the core table's counters (platform.relay.Watcher)."""

    def __init__(self, store: ShardTotals | None = None) -> None:
        self._store = store
        self._touched: dict[tuple[str, str], tuple[str, datetime]] = {}  # → (sequence number, at)
        self._sent: OrderedDict[str, None] = OrderedDict()

    @property
    def store(self) -> ShardTotals:
        if self._store is None:
            from meterplex.entitlements.store import GrantStore

            self._store = GrantStore()
        return self._store

    def watch(self, record: dict[str, Any]) -> list[OutboxMessage]:
        dynamodb = record.get("dynamodb") or {}
        keys = dynamodb.get("Keys") or {}
        sequence_number = str(dynamodb.get("SequenceNumber", ""))
        shard = _shard_owner(keys)
        if shard is not None:
            self._touched[shard] = (sequence_number, _at(dynamodb))
            return []
        owner = _grant_owner(keys)
        if owner is not None:
            after = grant_from_item(owner[0], owner[1], dynamodb.get("NewImage"))
            if after is not None and after.sharded:  # its total is the grant plus its shards
                self._touched[owner] = (sequence_number, _at(dynamodb))
                return []
        return threshold_messages(record)

    def flush(self) -> list[OutboxMessage]:
        touched, self._touched = self._touched, {}
        messages: list[OutboxMessage] = []
        for (tenant_id, feature), (sequence_number, at) in touched.items():
            grant = self.store.get(tenant_id, feature)
            if grant is None or grant.feature_type not in (QUOTA, METERED):
                continue
            fresh, shards = self.store.with_shards(grant, grant.window_start)
            if fresh is None or window_sk(fresh.subscription_id, fresh.window_start) != window_sk(
                grant.subscription_id, grant.window_start
            ):
                continue  # the window rolled meanwhile: the next change is judged on the new one
            for reached in reached_by_total(fresh, fresh.used + sum(shards)):
                if reached.event_id in self._sent:
                    continue
                messages.append(
                    OutboxMessage(sequence_number, topics.DOMAIN, tenant_id, reached.event(at).to_json())
                )
                self._remember(reached.event_id)
        return messages

    def _remember(self, event_id: str) -> None:
        self._sent[event_id] = None
        while len(self._sent) > REMEMBERED:
            self._sent.popitem(last=False)


def threshold_messages(record: dict[str, Any]) -> list[OutboxMessage]:
    """The `usage.threshold_reached` messages one core-table stream record carries (usually none):
    the relay's watcher for grant items. ValueError for a grant record without its images."""
    dynamodb = record.get("dynamodb") or {}
    owner = _grant_owner(dynamodb.get("Keys") or {})
    if owner is None:
        return []
    tenant_id, feature = owner
    new_image = dynamodb.get("NewImage")
    if not new_image:
        raise ValueError("a grant record without its NewImage (the stream must carry both images)")
    after = grant_from_item(tenant_id, feature, new_image)
    before = grant_from_item(tenant_id, feature, dynamodb.get("OldImage"))
    assert after is not None
    at = _at(dynamodb)
    sequence_number = str(dynamodb.get("SequenceNumber", ""))
    return [
        OutboxMessage(sequence_number, topics.DOMAIN, tenant_id, reached.event(at).to_json())
        for reached in thresholds_reached(before, after)
    ]
