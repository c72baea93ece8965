"""The aggregator's writes: each counter gets a batch's events in as few transactions as possible.

One TransactWriteItems per (counter, ≤ 99 events) = the counter update + one "counted" mark per
event (`SET countedAt`, conditional on `attribute_not_exists(countedAt)`), so an event is added
exactly once however often Kafka delivers it (ADR 0013, ADR 0020). The counter is the grant item
while the event's window is the grant's current one (`ADD used, room -sum`, conditional on that
window and subscription), else the window's archive item (`ADD used`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from meterplex.platform.clock import Clock, business_clock, iso
from meterplex.platform.dynamodb import TRANSACTION_CANCELLED, dynamodb_client
from meterplex.usage.keys import EVENT_SK, UsageAttr, event_pk
from meterplex.usage.models import CounterKey, UsageRecord

MAX_EVENTS_PER_TRANSACTION = 99  # + the counter update = DynamoDB's limit of 100 items
MAX_ATTEMPTS = 6


class Target(Enum):
    GRANT = "grant"  # the event's window is the grant's current window
    ROLL = "roll"  # the grant still holds an older window and the event's window is now's
    ARCHIVE = "archive"  # any other window (late events, ended subscriptions)


class CounterBusy(Exception):
    """Transient: the counter kept conflicting (the batch item is reported failed and retried)."""


@dataclass
class AggregatorStats:
    """What the aggregator spent, for metrics and bench/ingest.py (process-wide, monotonic)."""

    events_counted: int = 0
    events_already_counted: int = 0
    transactions: int = 0
    counter_writes: int = 0
    mark_writes: int = 0
    grant_reads: int = 0


STATS = AggregatorStats()


@dataclass
class Applied:
    counted: list[UsageRecord] = field(default_factory=list)
    already_counted: list[UsageRecord] = field(default_factory=list)
    missing: list[UsageRecord] = field(default_factory=list)  # no usage item to mark: dead letter


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


class CounterStore:
    def __init__(
        self, core_table: str, usage_table: str, client: Any | None = None, clock: Clock = business_clock
    ) -> None:
        self.client = client or dynamodb_client()
        self.core_table = core_table
        self.usage_table = usage_table
        self.counters = UsageCounters(core_table, self.client)
        self.clock = clock

    def _grant(self, key: CounterKey) -> Grant | None:
        STATS.grant_reads += 1
        return self.counters.grant(key.tenant_id, key.feature)

    def apply(self, key: CounterKey, records: Sequence[UsageRecord]) -> Applied:
        """Add `records` (distinct event ids, all of counter `key`) to the counter, once each."""
        applied = Applied()
        pending = list(records)
        grant = self._grant(key)
        attempts = 0
        while pending:
            target = target_for(key, grant, self.clock.now())
            if target is Target.ROLL:
                assert grant is not None
                start, end = grant.current_window(self.clock.now())
                self.counters.roll(grant, start, end)  # losing the race to a consume is fine
                grant = self._grant(key)
                continue
            chunk = pending[:MAX_EVENTS_PER_TRANSACTION]
            items = [self._counter_update(key, target, chunk)] + [self._mark(r) for r in chunk]
            STATS.transactions += 1
            try:
                self.client.transact_write_items(TransactItems=items)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != TRANSACTION_CANCELLED:
                    raise
                attempts += 1
                if attempts >= MAX_ATTEMPTS:
                    raise CounterBusy(f"counter {key} still conflicting after {attempts} attempts") from error
                grant, drop = self._sort_out(error, key, target, grant, chunk, applied)
                pending = [r for r in pending if r.event_id not in drop]
                continue
            STATS.counter_writes += 1
            STATS.mark_writes += len(chunk)
            STATS.events_counted += len(chunk)
            applied.counted.extend(chunk)
            pending = pending[len(chunk) :]
        STATS.events_already_counted += len(applied.already_counted)
        return applied

    def _sort_out(
        self,
        error: ClientError,
        key: CounterKey,
        target: Target,
        grant: Grant | None,
        chunk: list[UsageRecord],
        applied: Applied,
    ) -> tuple[Grant | None, set[str]]:
        """Read a cancelled transaction's reasons: events already counted (or without an item) are
        dropped; a moved grant is re-targeted; conflicts are retried after a short pause."""
        reasons = error.response.get("CancellationReasons") or []
        if len(reasons) != len(chunk) + 1:
            raise error
        drop: set[str] = set()
        for record, reason in zip(chunk, reasons[1:], strict=True):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            drop.add(record.event_id)
            if reason.get("Item"):
                applied.already_counted.append(record)
            else:
                applied.missing.append(record)
        counter = reasons[0]
        if counter.get("Code") == "ConditionalCheckFailed" and target is Target.GRANT:
            grant = grant_in(_counter(key), counter.get("Item"))
        if not drop and counter.get("Code") != "ConditionalCheckFailed":
            time.sleep(0.01)  # TransactionConflict or throttling: pause, then retry
        return grant, drop

    def _counter_update(self, key: CounterKey, target: Target, chunk: list[UsageRecord]) -> dict[str, Any]:
        total = sum(r.amount for r in chunk)
        if target is Target.GRANT:
            return add_on_grant(self.core_table, _counter(key), total)
        return add_on_archive(self.core_table, _counter(key), total, chunk[0].window_end)

    def _mark(self, record: UsageRecord) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.usage_table,
                "Key": {"pk": {"S": event_pk(record.tenant_id, record.event_id)}, "sk": {"S": EVENT_SK}},
                "UpdateExpression": "SET #counted = :now",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#counted)",
                "ExpressionAttributeNames": {"#counted": UsageAttr.COUNTED_AT},
                "ExpressionAttributeValues": {":now": {"S": iso(self.clock.now())}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
