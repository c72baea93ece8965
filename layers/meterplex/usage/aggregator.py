"""The usage aggregator: a Kafka batch of `meterplex.usage.v1` messages → counters (ADR 0020).

Powertools' `BatchProcessor(EventType.Kafka)` drives it, with one change: its `process()` runs in
two phases so that a batch's events can be combined per counter (ADR 0013: one counter write per
counter per ≤ 99 events, not one per event):

1. the record handler (`platform.consumer.KafkaConsumer.run`'s) parses each record; a poison
   record (undecodable, unknown shape) goes to the dead-letter store with the reason and counts
   as processed — it would never succeed on retry;
2. the parsed events are grouped per counter and applied group by group. A group that fails with
   a transient error reports each of its records as a batch item failure (retried by the event
   source mapping); groups written before stay written, and a retry cannot count them twice (the
   counting receipts of their ingest requests are written in the same transaction as the counter,
   ADR 0070).

The batch then leaves one INFO line per correlation id, tenant and outcome — counted, already
counted (a re-delivery) or failed — under that correlation id, with the event ids and counters of
its records (ADR 0105).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord

from meterplex.platform.consumer import correlation_id_of, source_of
from meterplex.platform.observability import logger
from meterplex.usage.models import CounterKey, UsageRecord, record_from_envelope

CONSUMER = "usage_aggregator"


@dataclass(frozen=True)
class Parsed:
    raw: dict[str, Any]
    record: KafkaEventRecord
    usage: UsageRecord


def group_by_counter(usages: Iterable[UsageRecord]) -> dict[CounterKey, list[UsageRecord]]:
    """Events per counter, each (tenant, eventId) once: the relay may deliver one event twice."""
    groups: dict[CounterKey, list[UsageRecord]] = {}
    seen: set[tuple[str, str]] = set()
    for usage in usages:
        identity = (usage.tenant_id, usage.event_id)
        if identity in seen:
            continue
        seen.add(identity)
        groups.setdefault(usage.counter, []).append(usage)
    return groups


def parse(record: KafkaEventRecord) -> UsageRecord:
    """A Kafka record's usage event; ValueError (poison) when it is not one."""
    try:
        raw = record.decoded_value
    except (TypeError, ValueError) as error:
        raise ValueError(f"undecodable record value: {error}") from error
    try:
        return record_from_envelope(raw)
    except (TypeError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from error


def log_applied(applied: Iterable[tuple[Parsed, CounterKey, str]]) -> None:
    """What became of a batch's usage records, one line per (correlation id, tenant, outcome)
    under that correlation id, naming each record's event id: one ingest request's events cost
    one line, not one each (a line costs ~0.5 ms of CPU and its share of CloudWatch's price)."""
    groups: dict[tuple[str | None, str, str], list[tuple[Parsed, CounterKey]]] = {}
    for item, key, outcome in applied:
        correlation_id = item.usage.correlation_id or correlation_id_of(item.record)
        groups.setdefault((correlation_id, item.usage.tenant_id, outcome), []).append((item, key))
    for (correlation_id, tenant_id, outcome), group in groups.items():
        keys = [key for _, key in group]
        logger.set_correlation_id(correlation_id)
        logger.info(
            "usage events applied",
            outcome=outcome,
            tenant_id=tenant_id,
            events=len(group),
            event_ids=[item.usage.event_id for item, _ in group],
            features=sorted({key.feature for key in keys}),
            subscription_ids=sorted({key.subscription_id for key in keys}),
            window_starts=sorted({key.window_start for key in keys}),
            first_source=source_of(group[0][0].record),
            last_source=source_of(group[-1][0].record),
        )


def outcome_of(applied: Any, usage: UsageRecord) -> str:
    """ "counted" / "already counted" when `apply` answered what it did (counters.Applied)."""
    if usage in getattr(applied, "already_counted", ()):
        return "already counted"
    return "counted"


class CountingBatchProcessor(BatchProcessor):
    """`BatchProcessor(EventType.Kafka)` whose second phase applies events per counter:
    `apply(key, usages)` writes one counter's events (raising when it could not, transiently)
    and may answer what it did (`counters.Applied`), for the records' log lines."""

    def __init__(self, apply: Callable[[CounterKey, list[UsageRecord]], Any]) -> None:
        super().__init__(event_type=EventType.Kafka)
        self.apply = apply

    def process(self) -> list[tuple]:
        results: list[tuple] = []
        parsed: list[Parsed] = []
        for raw in self.records:
            record = self._to_batch_type(record=raw, event_type=self.event_type)
            assert isinstance(record, KafkaEventRecord)
            try:
                usage = self.handler(record=record)
            except Exception:
                results.append(self.failure_handler(record=record, exception=sys.exc_info()))
                continue
            if usage is None:  # dead-lettered by the record handler
                results.append(self.success_handler(record=raw, result=None))
            else:
                parsed.append(Parsed(raw, record, usage))
        logged: list[tuple[Parsed, CounterKey, str]] = []
        members: dict[tuple[str, str], list[Parsed]] = {}
        for item in parsed:
            members.setdefault((item.usage.tenant_id, item.usage.event_id), []).append(item)
        for key, usages in group_by_counter(p.usage for p in parsed).items():
            group = [m for u in usages for m in members[(u.tenant_id, u.event_id)]]
            try:
                applied = self.apply(key, usages)
            except Exception:
                logger.exception("usage counter write failed; its records will be retried", counter=str(key))
                exc_info = sys.exc_info()
                for m in group:
                    logged.append((m, key, "failed, will be retried"))
                    results.append(self.failure_handler(record=m.record, exception=exc_info))
                continue
            for m in group:
                logged.append((m, key, outcome_of(applied, m.usage)))
                results.append(self.success_handler(record=m.raw, result=None))
        log_applied(logged)
        logger.set_correlation_id(None)
        return results
