"""Audit trail items, one per audit event (ADR 0090). Every access is GetItem or Query:

* `AUDIT#<eventId>` / `AUDIT` — one event by id (`GET /admin/audit-logs/{id}`); the put is
  conditional on it, so a replayed Kafka batch keeps each event once.
* gsi1 `AUDITMONTH#<yyyy-mm>` / `<occurredAt>#<eventId>` — every tenant's events by time (the
  admin list without a tenant/actor/resource filter walks months, newest first).
* gsi2 `AUDITTENANT#<tenantId>` / same — a tenant's trail (`GET /audit-events`, `tenantId=`).
* gsi3 `AUDITACTOR#<actor>` / same — one actor's writes (`actorId=`).
* gsi4 `AUDITRESOURCE#<resource>` / same — one kind of resource (`resource=`).

`startDate`/`endDate` become the sort-key range of whichever index is queried; `action` and the
filters not served by that index are a FilterExpression on it (read units are charged for what
the Query reads, said in docs/data-model.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError

from meterplex.platform.clock import iso
from meterplex.platform.core_table import GSI1, GSI2, GSI3, GSI4, CoreItem, condition_failed
from meterplex.platform.events import DomainEvent
from meterplex.platform.pagination import Key

ITEM_SK = "AUDIT"
MONTH_PREFIX, TENANT_PREFIX, ACTOR_PREFIX, RESOURCE_PREFIX = (
    "AUDITMONTH#",
    "AUDITTENANT#",
    "AUDITACTOR#",
    "AUDITRESOURCE#",
)


class AuditItem(CoreItem):
    eventId = UnicodeAttribute()
    type = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    tenantId = UnicodeAttribute()
    resource = UnicodeAttribute(null=True)
    resourceId = UnicodeAttribute(null=True)
    before = JSONAttribute(null=True)
    after = JSONAttribute(null=True)
    correlationId = UnicodeAttribute(null=True)
    occurredAt = UnicodeAttribute()


def audit_pk(event_id: str) -> str:
    return f"AUDIT#{event_id}"


def keep_in_trail(event: DomainEvent) -> bool:
    """Keep `event` in the audit trail; False when it was already there (a replay)."""
    data = event.data
    resource = str(data.get("resource") or "")
    position = f"{event.occurredAt}#{event.id}"
    item = AuditItem(
        audit_pk(event.id),
        ITEM_SK,
        eventId=event.id,
        type=event.type,
        action=str(data.get("action") or event.type),
        actor=event.actor,
        tenantId=event.tenantId,
        resource=resource or None,
        resourceId=data.get("resourceId"),
        before=data.get("before"),
        after=data.get("after"),
        correlationId=event.correlationId,
        occurredAt=event.occurredAt,
        gsi1pk=MONTH_PREFIX + event.occurredAt[:7],
        gsi1sk=position,
        gsi2pk=TENANT_PREFIX + event.tenantId,
        gsi2sk=position,
        gsi3pk=ACTOR_PREFIX + event.actor,
        gsi3sk=position,
        gsi4pk=RESOURCE_PREFIX + resource,
        gsi4sk=position,
    )
    try:
        item.save(condition=AuditItem.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def audit_event(event_id: str) -> AuditItem | None:
    try:
        return AuditItem.get(audit_pk(event_id), ITEM_SK)
    except AuditItem.DoesNotExist:
        return None


@dataclass(frozen=True)
class AuditFilter:
    tenant_id: str | None = None
    actor_id: str | None = None
    resource: str | None = None
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None


# index name → (its partition key attribute, its sort key attribute)
_INDEX_KEYS = {
    GSI1: ("gsi1pk", "gsi1sk"),
    GSI2: ("gsi2pk", "gsi2sk"),
    GSI3: ("gsi3pk", "gsi3sk"),
    GSI4: ("gsi4pk", "gsi4sk"),
}
CURSOR_FIELDS = ("index", "ipk", "isk", "pk")


def _index_of(f: AuditFilter) -> tuple[str, str | None]:
    """The index that serves `f` best (most selective key first) and its partition, None = months."""
    if f.tenant_id:
        return GSI2, TENANT_PREFIX + f.tenant_id
    if f.actor_id:
        return GSI3, ACTOR_PREFIX + f.actor_id
    if f.resource:
        return GSI4, RESOURCE_PREFIX + f.resource
    return GSI1, None


def _months(start: str, end: str) -> Iterator[str]:
    """`yyyy-mm` from `end`'s month back to `start`'s, inclusive."""
    year, month = int(end[:4]), int(end[5:7])
    first = (int(start[:4]), int(start[5:7]))
    while (year, month) >= first:
        yield f"{year:04d}-{month:02d}"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def _condition(f: AuditFilter, index: str) -> Any:
    conditions = []
    if f.tenant_id and index != GSI2:
        conditions.append(AuditItem.tenantId == f.tenant_id)
    if f.actor_id and index != GSI3:
        conditions.append(AuditItem.actor == f.actor_id)
    if f.resource and index != GSI4:
        conditions.append(AuditItem.resource == f.resource)
    if f.action:
        conditions.append(AuditItem.action == f.action)
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


def search(
    f: AuditFilter, start_key: Key | None, limit: int, *, earliest: datetime, now: datetime
) -> tuple[list[AuditItem], Key | None]:
    """Up to `limit` events matching `f`, newest first, from `start_key` (a cursor's key); the key
    to continue from (None at the end). Without a tenant/actor/resource the month partitions from
    `f.end` (or now) back to `f.start` (or `earliest`) are read in turn."""
    index, partition = _index_of(f)
    hash_attr, range_attr = _INDEX_KEYS[index]
    low = iso(f.start) if f.start else "0000"  # a key condition takes no empty string
    high = (iso(f.end) if f.end else "") + "~"  # '~' sorts after '#<id>': endDate is inclusive
    partitions = (
        [partition]
        if partition
        else [MONTH_PREFIX + m for m in _months(iso(f.start or earliest), iso(f.end or now))]
    )
    if start_key is not None:
        if start_key.get("index") != index or start_key["ipk"] not in partitions:
            from meterplex.platform.pagination import invalid_cursor

            raise invalid_cursor()
        partitions = partitions[partitions.index(start_key["ipk"]) :]
    items: list[AuditItem] = []
    for position, pk in enumerate(partitions):
        exclusive = None
        if position == 0 and start_key is not None:
            exclusive = {
                "pk": {"S": start_key["pk"]},
                "sk": {"S": ITEM_SK},
                hash_attr: {"S": pk},
                range_attr: {"S": start_key["isk"]},
            }
        range_condition = getattr(AuditItem, range_attr).between(low, high)
        results = AuditItem.query(
            pk,
            range_condition,
            index_name=index,
            filter_condition=_condition(f, index),
            scan_index_forward=False,
            limit=limit - len(items),
            last_evaluated_key=exclusive,
            page_size=limit - len(items),
        )
        for item in results:
            items.append(item)
            if len(items) == limit:
                return items, _cursor_key(index, pk, range_attr, item)
        last = results.last_evaluated_key
        if last:  # the page ran out of read budget mid-partition (a filter dropped items)
            return items, {"index": index, "ipk": pk, "isk": last[range_attr]["S"], "pk": last["pk"]["S"]}
    return items, None


def _cursor_key(index: str, pk: str, range_attr: str, item: AuditItem) -> Key:
    return {"index": index, "ipk": pk, "isk": str(getattr(item, range_attr)), "pk": item.pk}
