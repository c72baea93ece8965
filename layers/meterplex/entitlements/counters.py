"""The usage-counter port: how other capabilities count units into, and read units out of, the one
counter per (tenant, feature, subscription, usage window) that entitlements keeps (ADR 0013).

The counter of a window is the grant item's `used` while the grant holds that window, and the
window's archive item after the grant rolled (a few units may sit on the archive of a window the
grant holds: future-dated events, ADR 0013) — so the units of a window are always
`archive.used + (grant.used if the grant holds it)`. Nobody outside entitlements spells those
keys: the usage aggregator counts through `add_on_grant` / `add_on_archive` (transaction items it
combines with its own marks), billing reads through `UsageCounters.used`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterplex.entitlements.grants import Grant
from meterplex.entitlements.keys import (
    COUNTER_SHARDS,
    GRANT_SK,
    NEVER_ENDS,
    Attr,
    grant_pk,
    shard_pk,
    window_sk,
)
from meterplex.entitlements.store import GrantStore, grant_from_item
from meterplex.platform.clock import iso
from meterplex.platform.dynamodb import dynamodb_client

# TransactGetItems takes 100 items in DynamoDB, 25 in the emulator (moto): a call stays within both.
MAX_TRANSACT_GETS = 25

__all__ = [
    "NEVER_ENDS",
    "Counter",
    "CounterReading",
    "Grant",
    "UsageCounters",
    "add_on_archive",
    "add_on_grant",
    "grant_in",
    "window_text",
]


@dataclass(frozen=True)
class Counter:
    """One usage counter: a tenant's feature, in one subscription's usage window."""

    tenant_id: str
    feature: str
    subscription_id: str
    window_start: str  # ISO 8601 (platform.clock.iso), as `window_text` spells it


@dataclass(frozen=True)
class CounterReading:
    """A counter's units, and their parts: from consumes and from usage events (ADR 0070)."""

    used: int
    consumed: int
    ingested: int


def window_text(start: datetime, end: datetime | None) -> tuple[str, str]:
    """(windowStart, windowEnd) as counters spell them; a window that never resets ends NEVER_ENDS."""
    return iso(start), iso(end) if end else NEVER_ENDS


def _key(counter: Counter, *, on_grant: bool) -> dict[str, Any]:
    sk = GRANT_SK if on_grant else window_sk(counter.subscription_id, counter.window_start)
    return {"pk": {"S": grant_pk(counter.tenant_id, counter.feature)}, "sk": {"S": sk}}


def add_on_grant(table: str, counter: Counter, total: int) -> dict[str, Any]:
    """A transaction item adding `total` units to the grant, iff it still holds `counter`'s window
    and subscription (else it fails, returning the grant as it is: `grant_in`)."""
    return {
        "Update": {
            "TableName": table,
            "Key": _key(counter, on_grant=True),
            "UpdateExpression": "ADD #used :sum, #ingested :sum, #room :minus",
            "ConditionExpression": "#ws = :ws AND #sub = :sub",
            "ExpressionAttributeNames": {
                "#used": Attr.USED,
                "#ingested": Attr.INGESTED,
                "#room": Attr.ROOM,
                "#ws": Attr.WINDOW_START,
                "#sub": Attr.SUBSCRIPTION_ID,
            },
            "ExpressionAttributeValues": {
                ":sum": {"N": str(total)},
                ":minus": {"N": str(-total)},
                ":ws": {"S": counter.window_start},
                ":sub": {"S": counter.subscription_id},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def add_on_archive(table: str, counter: Counter, total: int, window_end: str) -> dict[str, Any]:
    """A transaction item adding `total` units to the window's archive item (created if absent)."""
    return {
        "Update": {
            "TableName": table,
            "Key": _key(counter, on_grant=False),
            "UpdateExpression": "ADD #used :sum, #ingested :sum SET #we = if_not_exists(#we, :we)",
            "ExpressionAttributeNames": {
                "#used": Attr.USED,
                "#ingested": Attr.INGESTED,
                "#we": Attr.WINDOW_END,
            },
            "ExpressionAttributeValues": {":sum": {"N": str(total)}, ":we": {"S": window_end}},
        }
    }


def grant_in(counter: Counter, item: dict[str, Any] | None) -> Grant | None:
    """The grant a failed `add_on_grant` returned (DynamoDB JSON), or None if there was none."""
    return grant_from_item(counter.tenant_id, counter.feature, item) if item else None


def _n(item: dict[str, Any], name: str) -> int:
    value = item.get(name) or {}
    return int(value["N"]) if "N" in value else 0


def _s(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name) or {}
    return value.get("S")


class UsageCounters:
    def __init__(self, table: str, client: Any | None = None) -> None:
        self.client = client or dynamodb_client()
        self.table = table
        self.grants = GrantStore(self.client, table)

    def grant(self, tenant_id: str, feature: str) -> Grant | None:
        return self.grants.get(tenant_id, feature)

    def roll(self, grant: Grant, start: datetime, end: datetime | None) -> None:
        """Archive the grant's stale window and open the one containing now (see GrantStore)."""
        self.grants.roll_window(grant, start, end)

    def used(self, counters: Sequence[Counter]) -> dict[Counter, int]:
        """Units counted in each window (see `readings`)."""
        return {counter: reading.used for counter, reading in self.readings(counters).items()}

    def readings(self, counters: Sequence[Counter]) -> dict[Counter, CounterReading]:
        """Each window's units and their parts. A window's units = its archive + the grant while it
        holds the window + the window's counter shards (a high-throughput grant's consumes, ADR
        0071; none for the others). Each counter is read with its grant in ONE TransactGetItems
        (≤ 25 items: 2 counters a call), so a window roll running meanwhile is seen wholly or not
        at all — a plain Query could see the archive updated and the grant not yet reset, and
        count a window twice.
        """
        wanted = list(dict.fromkeys(counters))
        per_counter = 1 + COUNTER_SHARDS  # the archive and the shards
        found: dict[Counter, CounterReading] = {}
        for tenant_id, feature in dict.fromkeys((c.tenant_id, c.feature) for c in wanted):
            mine = [c for c in wanted if (c.tenant_id, c.feature) == (tenant_id, feature)]
            step = max(1, (MAX_TRANSACT_GETS - 1) // per_counter)
            for first in range(0, len(mine), step):
                group = mine[first : first + step]
                gets: list[tuple[str, Any]] = [("grant", (tenant_id, feature))]
                gets += [("window", c) for c in group]
                gets += [("shard", (c, shard)) for c in group for shard in range(COUNTER_SHARDS)]
                response = self.client.transact_get_items(
                    TransactItems=[self._get(kind, ref) for kind, ref in gets]
                )
                answers = [answer.get("Item") or {} for answer in response.get("Responses", [])]
                grant = answers[0]
                for counter in group:
                    items = [
                        item
                        for (kind, ref), item in zip(gets, answers, strict=True)
                        if kind != "grant" and (ref if isinstance(ref, Counter) else ref[0]) == counter
                    ]
                    holds = (
                        _s(grant, Attr.SUBSCRIPTION_ID) == counter.subscription_id
                        and _s(grant, Attr.WINDOW_START) == counter.window_start
                    )
                    if holds:
                        items.append(grant)
                    found[counter] = CounterReading(
                        used=sum(_n(item, Attr.USED) for item in items),
                        consumed=sum(_n(item, Attr.CONSUMED) for item in items),
                        ingested=sum(_n(item, Attr.INGESTED) for item in items),
                    )
        return found

    def _get(self, kind: str, ref: Any) -> dict[str, Any]:
        if kind == "grant":
            tenant_id, feature = ref
            key = {"pk": {"S": grant_pk(tenant_id, feature)}, "sk": {"S": GRANT_SK}}
        elif kind == "shard":
            counter, shard = ref
            key = {
                "pk": {"S": shard_pk(counter.tenant_id, counter.feature, shard)},
                "sk": {"S": window_sk(counter.subscription_id, counter.window_start)},
            }
        else:
            key = _key(ref, on_grant=False)
        return {
            "Get": {
                "TableName": self.table,
                "Key": key,
                "ProjectionExpression": "#used, #consumed, #ingested, #sub, #ws",
                "ExpressionAttributeNames": {
                    "#used": Attr.USED,
                    "#consumed": Attr.CONSUMED,
                    "#ingested": Attr.INGESTED,
                    "#sub": Attr.SUBSCRIPTION_ID,
                    "#ws": Attr.WINDOW_START,
                },
            }
        }
