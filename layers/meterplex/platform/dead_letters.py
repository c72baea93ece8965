"""The dead-letter store: ONE place for every consumer's poison records and exhausted retries
(Kafka consumers, stream consumers, queue workers; ADR 0091). Nothing is dropped silently.

Each dead letter keeps the record *as its consumer received it* (`record`: an MSK record, a
DynamoDB stream record or an SQS message) so that `POST /admin/dead-letter/{id}/retry` can hand
exactly that record to the consumer's handler again (`meterplex.admin.dead_letters`).

Items (core table; every access GetItem or Query):
* `DEADLETTER#<id>` / `DEADLETTER` — one dead letter; `id` is derived from (consumer, source), so
  the same record failing again (a replayed batch, a retry that failed) stays one item.
* gsi1 `DEADLETTERS#<status>` / `<failedAt>#<id>` — by status (OPEN, RETRIED, DISCARDED).
* gsi2 `DLCONSUMER#<consumer>` / same — one consumer's; gsi3 `DLTENANT#<tenantId>` / same.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError

from meterplex.platform import business_metrics
from meterplex.platform.clock import iso
from meterplex.platform.core_table import CoreItem, condition_failed, core_transaction
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import stage_events
from meterplex.platform.transactions import failed_keys

ITEM_SK = "DEADLETTER"
STATUS_PREFIX, CONSUMER_PREFIX, TENANT_PREFIX = "DEADLETTERS#", "DLCONSUMER#", "DLTENANT#"
_NAMESPACE = uuid.UUID("5b0a3f0e-7f5c-4c55-9a53-2d43f1d4b0a1")
MAX_RECORD = 200_000  # characters of the record kept (an item stays under DynamoDB's 400 KB)


class DeadLetterStatus(StrEnum):
    OPEN = "OPEN"  # waiting for an operator: retry or discard
    RETRIED = "RETRIED"  # re-delivered to its consumer, which processed it
    DISCARDED = "DISCARDED"  # an operator decided it never needs processing (with a reason)


class RecordKind(StrEnum):
    KAFKA = "kafka"  # an MSK event record (topic, partition, offset, key, value base64…)
    STREAM = "stream"  # a DynamoDB stream record (eventID, dynamodb.NewImage, SequenceNumber…)
    SQS = "sqs"  # an SQS message (messageId, body…)


class DeadLetterItem(CoreItem):
    id = UnicodeAttribute()
    consumer = UnicodeAttribute()
    source = UnicodeAttribute()  # e.g. "<topic>-<partition>@<offset>", "<stream seq>", "sqs:<id>"
    kind = UnicodeAttribute(null=True)
    reason = UnicodeAttribute()
    payload = UnicodeAttribute()  # the message itself, readable (decoded value, image, body)
    record = UnicodeAttribute(null=True)  # the record as the consumer received it, JSON
    tenantId = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    failures = NumberAttribute(null=True)
    retries = NumberAttribute(null=True)
    failedAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute(null=True)
    discardReason = UnicodeAttribute(null=True)

    @property
    def current_status(self) -> DeadLetterStatus:
        return DeadLetterStatus(self.status or DeadLetterStatus.OPEN)


def dead_letter_id(consumer: str, source: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{consumer}\x00{source}"))


def dead_letter_pk(id_: str) -> str:
    return f"DEADLETTER#{id_}"


def kind_of(source: str) -> RecordKind:
    """For callers that give no kind: `sqs:<messageId>` sources are queue messages, the rest Kafka."""
    return RecordKind.SQS if source.startswith("sqs:") else RecordKind.KAFKA


def dead_letter(
    *,
    consumer: str,
    source: str,
    reason: str,
    payload: str,
    at: datetime,
    record: dict[str, Any] | None = None,
    kind: RecordKind | None = None,
    tenant_id: str | None = None,
) -> str:
    """Store a failed record (OPEN) and return its id; the same (consumer, source) stored again
    stays one item, reopened with the new reason and one more failure — unless it was DISCARDED."""
    id_ = dead_letter_id(consumer, source)
    failed_at = iso(at)
    position = f"{failed_at}#{id_}"
    item = DeadLetterItem(dead_letter_pk(id_), ITEM_SK)
    actions: list[Any] = [
        DeadLetterItem.id.set(id_),
        DeadLetterItem.consumer.set(consumer),
        DeadLetterItem.source.set(source),
        DeadLetterItem.kind.set((kind or kind_of(source)).value),
        DeadLetterItem.reason.set(reason[:1000] or "unknown"),
        DeadLetterItem.payload.set(payload[:100_000]),
        DeadLetterItem.status.set(DeadLetterStatus.OPEN.value),
        DeadLetterItem.failures.add(1),
        DeadLetterItem.failedAt.set(failed_at),
        DeadLetterItem.updatedAt.set(failed_at),
        DeadLetterItem.gsi1pk.set(STATUS_PREFIX + DeadLetterStatus.OPEN.value),
        DeadLetterItem.gsi1sk.set(position),
        DeadLetterItem.gsi2pk.set(CONSUMER_PREFIX + consumer),
        DeadLetterItem.gsi2sk.set(position),
    ]
    if record is not None:
        actions.append(DeadLetterItem.record.set(json.dumps(record, default=str)[:MAX_RECORD]))
    if tenant_id:
        actions += [
            DeadLetterItem.tenantId.set(tenant_id),
            DeadLetterItem.gsi3pk.set(TENANT_PREFIX + tenant_id),
            DeadLetterItem.gsi3sk.set(position),
        ]
    try:
        item.update(
            actions=actions,
            condition=DeadLetterItem.status.does_not_exist()
            | (DeadLetterItem.status != DeadLetterStatus.DISCARDED.value),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return id_  # DISCARDED: an operator already decided about it
    business_metrics.count(business_metrics.DEAD_LETTERS)  # per function (`service`): alarmed on ≥ 1
    return id_


def kafka_source(record: dict[str, Any]) -> str:
    """An MSK event record's position, as dead letters name it: `<topic>-<partition>@<offset>`."""
    return f"{record.get('topic')}-{record.get('partition')}@{record.get('offset')}"


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(value or b"").decode("utf-8", "replace")
    except (binascii.Error, TypeError, ValueError):
        return str(value)


def dead_letter_kafka_record(consumer: str, record: dict[str, Any], *, reason: str, at: datetime) -> str:
    """Store an MSK event record whose retries ran out, whole (a retry re-delivers it), named by its
    position (the same id as if the consumer had dead-lettered it itself); its key is the tenant."""
    key = _decoded(record.get("key"))
    return dead_letter(
        consumer=consumer,
        source=kafka_source(record),
        reason=reason,
        payload=_decoded(record.get("value")),
        at=at,
        record=record,
        kind=RecordKind.KAFKA,
        tenant_id=key if 0 < len(key) <= 255 else None,
    )


def dead_letters(consumer: str) -> list[DeadLetterItem]:
    """Every dead letter of `consumer` (tests and tools; the admin list pages by cursor)."""
    return list(DeadLetterItem.query(CONSUMER_PREFIX + consumer, index_name="gsi2"))


def get_dead_letter(id_: str) -> DeadLetterItem | None:
    try:
        return DeadLetterItem.get(dead_letter_pk(id_), ITEM_SK, consistent_read=True)
    except DeadLetterItem.DoesNotExist:
        return None


CURSOR_FIELDS = ("ipk", "isk", "pk")


def search_dead_letters(
    status: DeadLetterStatus | None,
    consumer: str | None,
    tenant_id: str | None,
    start: dict[str, str] | None,
    limit: int,
) -> tuple[list[DeadLetterItem], dict[str, str] | None]:
    """Newest first. The index: tenant (gsi3), else consumer (gsi2), else status (gsi1, OPEN when
    no status is given); the other filters are a FilterExpression on it."""
    status = status or (None if consumer or tenant_id else DeadLetterStatus.OPEN)
    if tenant_id:
        index, hash_attr, range_attr, pk = "gsi3", "gsi3pk", "gsi3sk", TENANT_PREFIX + tenant_id
    elif consumer:
        index, hash_attr, range_attr, pk = "gsi2", "gsi2pk", "gsi2sk", CONSUMER_PREFIX + consumer
    else:
        assert status is not None
        index, hash_attr, range_attr, pk = "gsi1", "gsi1pk", "gsi1sk", STATUS_PREFIX + status.value
    condition = None
    if status is not None and index != "gsi1":
        condition = DeadLetterItem.status == status.value
    if consumer and index == "gsi3":
        clause = DeadLetterItem.consumer == consumer
        condition = clause if condition is None else condition & clause
    exclusive = None
    if start is not None:
        if start["ipk"] != pk:
            from meterplex.platform.pagination import invalid_cursor

            raise invalid_cursor()
        exclusive = {
            "pk": {"S": start["pk"]},
            "sk": {"S": ITEM_SK},
            hash_attr: {"S": pk},
            range_attr: {"S": start["isk"]},
        }
    results = DeadLetterItem.query(
        pk,
        index_name=index,
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=exclusive,
        page_size=limit,
    )
    items = list(results)
    last = results.last_evaluated_key
    if len(items) == limit:
        tail = items[-1]
        return items, {"ipk": pk, "isk": str(getattr(tail, range_attr)), "pk": tail.pk}
    if last:
        return items, {"ipk": pk, "isk": last[range_attr]["S"], "pk": last["pk"]["S"]}
    return items, None


def count_open(cap: int = 1000) -> int:
    """How many dead letters are OPEN (one Query of the OPEN partition, keys only read, capped)."""
    return sum(
        1
        for _ in DeadLetterItem.query(
            STATUS_PREFIX + DeadLetterStatus.OPEN.value, index_name="gsi1", limit=cap
        )
    )


def transition(
    item: DeadLetterItem,
    to: DeadLetterStatus,
    *,
    at: datetime,
    audit: DomainEvent,
    reason: str | None = None,
    discard_reason: str | None = None,
    retried: bool = False,
) -> bool:
    """Move `item` from the status it was read with to `to` (conditional), with the write's audit
    event in the same transaction; False when it changed meanwhile (nothing written)."""
    actions: list[Any] = [
        DeadLetterItem.status.set(to.value),
        DeadLetterItem.updatedAt.set(iso(at)),
        DeadLetterItem.gsi1pk.set(STATUS_PREFIX + to.value),
    ]
    if reason is not None:
        actions.append(DeadLetterItem.reason.set(reason[:1000]))
    if discard_reason is not None:
        actions.append(DeadLetterItem.discardReason.set(discard_reason[:1000]))
    if retried:
        actions.append(DeadLetterItem.retries.add(1))
    condition = DeadLetterItem.status == item.current_status.value
    if item.status is None:
        condition = DeadLetterItem.status.does_not_exist()
    tx = core_transaction()
    try:
        with tx:
            tx.update(DeadLetterItem(item.pk, item.sk), actions=actions, condition=condition)
            stage_events(tx, [audit])
    except TransactWriteError as error:
        if (item.pk, item.sk) in failed_keys(tx, error):
            return False
        raise
    return True
