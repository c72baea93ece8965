"""The aggregator's writes: a batch's events go into their counter once, whatever Kafka or the relay
redelivers, with a write per (counter, ingest request) — not per event (ADR 0070).

Every usage event carries the ingest request that stored it and its position there. Per (request,
counter) one *counting receipt* (usage table) holds a bitmap of the request's events already added
to that counter. Applying a counter's events: read their receipts (one consistent BatchGetItem),
keep the events whose bit is not set, then ONE TransactWriteItems per ≤ 99 receipts = the counter
update (their units) + each receipt rewritten with its new bits, conditional on the bitmap read.
A replayed batch, a relay duplicate at another offset, a crash between two counters, a re-drive —
each finds its bits set and adds nothing. The counter is the grant item while the event's window is
the grant's current one (`ADD used, ingested, room -sum`, conditional on that window and
subscription), else the window's archive item (`ADD used, ingested`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from meterplex.entitlements.counters import (
    Counter,
    Grant,
    UsageCounters,
    add_on_archive,
    add_on_grant,
    grant_in,
)
from meterplex.platform.clock import Clock, business_clock, epoch_s, iso
from meterplex.platform.dynamodb import TRANSACTION_CANCELLED, dynamodb_client
from meterplex.usage.keys import ReceiptAttr, receipt_pk, receipt_sk
from meterplex.usage.models import CounterKey, UsageRecord

MAX_RECEIPTS_PER_TRANSACTION = 99  # + the counter update = DynamoDB's limit of 100 items
MAX_KEYS_PER_BATCH_GET = 100
MAX_ATTEMPTS = 6
# A receipt must outlive every redelivery of its events: the usage item's dedup lifetime (received +
# late window + 1 day, ADR 0020) bounds them all. A receipt is written after its events were received,
# so it lives for the late window + this margin from its write: never shorter than its usage items.
RECEIPT_MARGIN = timedelta(days=2)
CHECK_FAILED = "ConditionalCheckFailed"


class Target(Enum):
    GRANT = "grant"  # the event's window is the grant's current window
    ROLL = "roll"  # the grant still holds an older window and the event's window is now's
    ARCHIVE = "archive"  # any other window (late events, ended subscriptions)


class CounterBusy(Exception):
    """Transient: the counter kept conflicting (the batch item is reported failed and retried)."""


@dataclass
class AggregatorStats:
    """What the aggregator spent, for metrics and the tests (process-wide, monotonic)."""

    events_counted: int = 0
    events_already_counted: int = 0
    transactions: int = 0
    counter_writes: int = 0
    receipt_writes: int = 0
    receipt_reads: int = 0
    grant_reads: int = 0


STATS = AggregatorStats()


@dataclass
class Applied:
    counted: list[UsageRecord] = field(default_factory=list)
    already_counted: list[UsageRecord] = field(default_factory=list)


@dataclass
class Receipt:
    """What one ingest request has added to one counter: a bitmap of its events' positions."""

    request_id: str
    bits: bytes = b""
    units: int = 0
    events: int = 0
    stored: bool = False  # read from the table (its rewrite is conditional on `bits`)

    def has(self, index: int) -> bool:
        byte = index // 8
        return byte < len(self.bits) and bool(self.bits[byte] & (1 << (index % 8)))

    def with_events(self, records: Sequence[UsageRecord]) -> Receipt:
        grown = bytearray(self.bits)
        for record in records:
            _, index = record.receipt
            grown.extend(b"\0" * (index // 8 + 1 - len(grown)))
            grown[index // 8] |= 1 << (index % 8)
        added = sum(r.amount for r in records)
        return Receipt(self.request_id, bytes(grown), self.units + added, self.events + len(records), True)


def _counter(key: CounterKey) -> Counter:
    return Counter(key.tenant_id, key.feature, key.subscription_id, key.window_start)


def target_for(key: CounterKey, grant: Grant | None, now: datetime) -> Target:
    if grant is None or grant.subscription_id != key.subscription_id:
        return Target.ARCHIVE
    if grant.window_start == key.window_start:
        return Target.GRANT
    if key.window_start > grant.window_start and iso(grant.current_window(now)[0]) == key.window_start:
        return Target.ROLL
    return Target.ARCHIVE


def by_request(records: Sequence[UsageRecord]) -> dict[str, list[UsageRecord]]:
    groups: dict[str, list[UsageRecord]] = {}
    for record in records:
        groups.setdefault(record.receipt[0], []).append(record)
    return groups


class CounterStore:
    def __init__(
        self,
        core_table: str,
        usage_table: str,
        client: Any | None = None,
        clock: Clock = business_clock,
        *,
        late_window: timedelta,
    ) -> None:
        self.client = client or dynamodb_client()
        self.receipt_ttl = late_window + RECEIPT_MARGIN
        self.core_table = core_table
        self.usage_table = usage_table
        self.counters = UsageCounters(core_table, self.client)
        self.clock = clock

    def _grant(self, key: CounterKey) -> Grant | None:
        STATS.grant_reads += 1
        return self.counters.grant(key.tenant_id, key.feature)

    def apply(
        self, key: CounterKey, records: Sequence[UsageRecord], applied: Applied | None = None
    ) -> Applied:
        """Add `records` (distinct event ids, all of counter `key`) to the counter, once each.
        `applied` (given: filled as transactions commit) still says what was counted when a later
        chunk raises — the metrics count those events now, a retry finds them already counted."""
        applied = Applied() if applied is None else applied
        receipts = self._receipts(key, list(by_request(records)))
        pending = self._fresh(records, receipts, applied)
        grant = self._grant(key) if pending else None
        attempts = 0
        while pending:
            target = target_for(key, grant, self.clock.now())
            if target is Target.ROLL:
                assert grant is not None
                start, end = grant.current_window(self.clock.now())
                self.counters.roll(grant, start, end)  # losing the race to a consume is fine
                grant = self._grant(key)
                continue
            groups = by_request(pending)
            chunk_ids = list(groups)[:MAX_RECEIPTS_PER_TRANSACTION]
            chunk = [r for request_id in chunk_ids for r in groups[request_id]]
            updated = [receipts[request_id].with_events(groups[request_id]) for request_id in chunk_ids]
            items = [self._counter_update(key, target, chunk)]
            items += [self._receipt_put(key, receipts[r.request_id], r) for r in updated]
            STATS.transactions += 1
            try:
                self.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != TRANSACTION_CANCELLED:
                    raise
                reasons = error.response.get("CancellationReasons") or []
                if len(reasons) != len(items):
                    raise
                waiting = len(pending)
                counter = reasons[0]
                if counter.get("Code") == CHECK_FAILED and target is Target.GRANT:
                    grant = grant_in(_counter(key), counter.get("Item"))  # rolled or replaced: re-target
                if any(r.get("Code") == CHECK_FAILED for r in reasons[1:]):
                    # another writer counted some of these meanwhile: read their receipts again
                    receipts |= self._receipts(key, chunk_ids)
                    pending = self._fresh(pending, receipts, applied)
                elif counter.get("Code") != CHECK_FAILED:
                    time.sleep(0.01)  # TransactionConflict or throttling: pause, then retry
                if len(pending) == waiting:  # no progress (a conflict, a moved grant): that is bounded
                    attempts += 1
                    if attempts >= MAX_ATTEMPTS:
                        raise CounterBusy(
                            f"counter {key} still conflicting after {attempts} attempts"
                        ) from error
                continue
            STATS.counter_writes += 1
            STATS.receipt_writes += len(updated)
            STATS.events_counted += len(chunk)
            applied.counted.extend(chunk)
            for receipt in updated:
                receipts[receipt.request_id] = receipt
            done = set(chunk_ids)
            pending = [r for r in pending if r.receipt[0] not in done]
        STATS.events_already_counted += len(applied.already_counted)
        return applied

    @staticmethod
    def _fresh(
        records: Sequence[UsageRecord], receipts: dict[str, Receipt], applied: Applied
    ) -> list[UsageRecord]:
        """The records not yet in their counter; the others go to `applied.already_counted`."""
        fresh = []
        for record in records:
            request_id, index = record.receipt
            if receipts[request_id].has(index):
                applied.already_counted.append(record)
            else:
                fresh.append(record)
        return fresh

    def _receipt_key(self, key: CounterKey, request_id: str) -> dict[str, Any]:
        return {
            "pk": {"S": receipt_pk(key.tenant_id, request_id)},
            "sk": {"S": receipt_sk(key.feature, key.subscription_id, key.window_start)},
        }

    def _receipts(self, key: CounterKey, request_ids: list[str]) -> dict[str, Receipt]:
        """The counter's receipts of these requests, as stored (consistent reads; empty if none)."""
        found = {request_id: Receipt(request_id) for request_id in request_ids}
        by_pk = {receipt_pk(key.tenant_id, r): r for r in request_ids}
        for first in range(0, len(request_ids), MAX_KEYS_PER_BATCH_GET):
            keys = [self._receipt_key(key, r) for r in request_ids[first : first + MAX_KEYS_PER_BATCH_GET]]
            wanted: dict[str, Any] = {self.usage_table: {"Keys": keys, "ConsistentRead": True}}
            while wanted:
                STATS.receipt_reads += 1
                response = self.client.batch_get_item(RequestItems=wanted)
                for item in response.get("Responses", {}).get(self.usage_table, []):
                    request_id = by_pk[item["pk"]["S"]]
                    found[request_id] = Receipt(
                        request_id,
                        bytes(item.get(ReceiptAttr.COUNTED, {}).get("B", b"")),
                        int(item.get(ReceiptAttr.UNITS, {}).get("N", 0)),
                        int(item.get(ReceiptAttr.EVENTS, {}).get("N", 0)),
                        stored=True,
                    )
                wanted = response.get("UnprocessedKeys") or {}
                if wanted:
                    time.sleep(0.01)
        return found

    def _receipt_put(self, key: CounterKey, seen: Receipt, receipt: Receipt) -> dict[str, Any]:
        """The receipt with its new bits, conditional on the receipt being as read."""
        put: dict[str, Any] = {
            "TableName": self.usage_table,
            "Item": {
                **self._receipt_key(key, receipt.request_id),
                ReceiptAttr.COUNTED: {"B": receipt.bits},
                ReceiptAttr.UNITS: {"N": str(receipt.units)},
                ReceiptAttr.EVENTS: {"N": str(receipt.events)},
                ReceiptAttr.EXPIRES_AT: {"N": str(epoch_s(self.clock.now() + self.receipt_ttl))},
            },
        }
        if seen.stored:
            put["ConditionExpression"] = "#counted = :seen"
            put["ExpressionAttributeNames"] = {"#counted": ReceiptAttr.COUNTED}
            put["ExpressionAttributeValues"] = {":seen": {"B": seen.bits}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    def _counter_update(self, key: CounterKey, target: Target, chunk: list[UsageRecord]) -> dict[str, Any]:
        total = sum(r.amount for r in chunk)
        if target is Target.GRANT:
            return add_on_grant(self.core_table, _counter(key), total)
        return add_on_archive(self.core_table, _counter(key), total, chunk[0].window_end)
