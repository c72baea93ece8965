"""Exhausted retries → the dead-letter store (ADR 0091).

An event source mapping that exhausts its retries sends an *invocation record* to its on-failure
SQS queue: for a DynamoDB stream it holds only where the batch was (`DDBStreamBatchInfo`: stream
ARN, shard, first and last sequence numbers), never the records. `dead_letter_intake` consumes
those queues and makes the records recoverable: it re-reads the batch from the stream by sequence
number (GetShardIterator AT_SEQUENCE_NUMBER, then GetRecords up to the last one) while the stream
still retains it (24 hours; the queue delivers within seconds) and stores each record, in the
shape Lambda gave the consumer, as a dead letter of the function that failed.

A Kafka mapping's record (`KafkaBatchInfo`) carries the failed records themselves when its
destination is an S3 bucket or a Kafka topic (`payload`: the MSK event Lambda invoked the function
with): each record is then stored whole, so a retry re-delivers it. Through an SQS destination (the
one we deploy) it names only offsets (`recordsInfo`: per `<topic>-<partition>`, the first and last
offsets): the intake re-reads them from the broker by offset (Kafka keeps them 7 days; the queue
delivers within seconds) and stores each record whole, as the consumer received it (ADR 0094).
Offsets the broker no longer holds (retention, a deleted topic) are stored naming them, not
replayable, with the reason; a broker that does not answer fails the message, so SQS hands it to
the intake again (nothing is stored half).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from meterplex.platform import limits
from meterplex.platform.dead_letters import RecordKind, dead_letter, dead_letter_kafka_record
from meterplex.platform.kafka import RecordsGone
from meterplex.platform.relay import stream_source_of, tenant_of_stream_record

MAX_READS = 50  # GetRecords calls per batch: a batch is ≤ the mapping's batch size (≤ 10,000)


@dataclass(frozen=True)
class Failure:
    """One on-failure invocation record."""

    function: str  # the physical name of the function whose retries ran out
    condition: str  # e.g. RetryAttemptsExhausted, RecordAgeExceeded
    invocations: int
    stream: dict[str, Any] | None  # DDBStreamBatchInfo
    kafka: dict[str, Any] | None  # KafkaBatchInfo
    payload: dict[str, Any] | None = None  # the invocation's event (S3 and Kafka destinations only)

    @classmethod
    def parse(cls, body: str) -> Failure:
        raw = json.loads(body)
        if not isinstance(raw, dict):
            raise ValueError("an on-failure record is a JSON object")
        context = raw.get("requestContext") or {}
        arn = str(context.get("functionArn") or "")
        name = arn.split(":function:", 1)[-1].split(":", 1)[0] if ":function:" in arn else arn
        stream, kafka = raw.get("DDBStreamBatchInfo"), raw.get("KafkaBatchInfo")
        if not name or not (stream or kafka):
            raise ValueError("not an event source mapping's on-failure record")
        return cls(
            name,
            str(context.get("condition") or "RetryAttemptsExhausted"),
            int(context.get("approximateInvokeCount") or 0),
            stream,
            kafka,
            raw.get("payload") if isinstance(raw.get("payload"), dict) else None,
        )

    @property
    def reason(self) -> str:
        return f"retries exhausted ({self.condition}, {self.invocations} invocations)"


def failed_request_id(body: str) -> str | None:
    """The request id of the invocation whose retries ran out (`requestContext.requestId`), when
    the body is an on-failure record holding a valid one: the failure's correlation id."""
    try:
        raw = json.loads(body)
    except (TypeError, ValueError):
        return None
    context = raw.get("requestContext") if isinstance(raw, dict) else None
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return request_id if isinstance(request_id, str) and limits.is_correlation_id(request_id) else None


def _plain(value: Any) -> Any:
    """botocore's GetRecords answer → the JSON Lambda hands a function (epoch seconds for times)."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def stream_records(streams: Any, info: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The batch's records, first to last sequence number, as Lambda delivered them."""
    stream_arn = str(info["streamArn"])
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=str(info["shardId"]),
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(info["startSequenceNumber"]),
    ).get("ShardIterator")
    for _ in range(MAX_READS):
        if not iterator:
            return
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for raw in page.get("Records", []):
            sequence = int(raw["dynamodb"]["SequenceNumber"])
            if sequence < first:
                continue
            if sequence > last:
                return
            yield _plain(raw) | {"eventSourceARN": stream_arn}
            if sequence == last:
                return
        iterator = page.get("NextShardIterator")


class OffsetReader(Protocol):
    """Reads offsets `first`..`last` of a partition as MSK event records (`platform.kafka`);
    raises RecordsGone when the broker no longer holds them."""

    def __call__(self, topic: str, partition: int, first: int, last: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class OffsetRange:
    """Where a metadata-only Kafka failure was: one partition's first and last offsets."""

    topic: str
    partition: int
    first: int
    last: int

    @property
    def source(self) -> str:
        tail = f"-{self.last}" if self.last != self.first else ""
        return f"{self.topic}-{self.partition}@{self.first}{tail}"


class Intake:
    """`consumers`: physical function name → the consumer's name (topology); unknown names are kept.
    `read_offsets`: re-reads a Kafka failure's records by offset (made on first use: only a Kafka
    failure needs a broker connection)."""

    def __init__(
        self,
        streams: Any,
        consumers: Mapping[str, str],
        *,
        now: Any,
        read_offsets: OffsetReader | None = None,
    ) -> None:
        self.streams = streams
        self.consumers = dict(consumers)
        self.now = now
        self.read_offsets = read_offsets

    def take(self, body: str) -> list[str]:
        """Store the failure's records as dead letters; their ids."""
        failure = Failure.parse(body)
        consumer = self.consumers.get(failure.function, failure.function)
        if failure.stream is not None:
            return [
                dead_letter(
                    consumer=consumer,
                    source=stream_source_of(record),
                    reason=failure.reason,
                    payload=json.dumps((record.get("dynamodb") or {}).get("NewImage") or {}),
                    at=self.now(),
                    record=record,
                    kind=RecordKind.STREAM,
                    tenant_id=tenant_of_stream_record(record),
                )
                for record in stream_records(self.streams, failure.stream)
            ]
        records = kafka_records(failure.payload)
        if records:
            return [
                dead_letter_kafka_record(consumer, record, reason=failure.reason, at=self.now())
                for record in records
            ]
        return self._take_offsets(consumer, failure)

    def _take_offsets(self, consumer: str, failure: Failure) -> list[str]:
        """A metadata-only Kafka failure: each partition's records re-read by offset and stored
        whole; a range the broker no longer holds stored naming it, with why it cannot be replayed."""
        info = failure.kafka or {}
        ids: list[str] = []
        for position in kafka_positions(info):
            if isinstance(position, OffsetRange) and self.read_offsets is not None:
                try:
                    records = self.read_offsets(
                        position.topic, position.partition, position.first, position.last
                    )
                except RecordsGone as gone:
                    why = f"not replayable: {gone}"
                else:
                    ids += [
                        dead_letter_kafka_record(consumer, record, reason=failure.reason, at=self.now())
                        for record in records
                    ]
                    continue
            else:
                why = "not replayable: the failure record names no topic and partition to re-read"
            source = position.source if isinstance(position, OffsetRange) else position
            ids.append(
                dead_letter(
                    consumer=consumer,
                    source=source,
                    reason=f"{failure.reason} — {why}",
                    payload=json.dumps(info),
                    at=self.now(),
                    kind=RecordKind.KAFKA,
                )
            )
        return ids


def kafka_records(payload: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The MSK event records an on-failure record carries (`payload.records`), if it has them."""
    groups = (payload or {}).get("records")
    if not isinstance(groups, dict):
        return []
    return [r for group in groups.values() if isinstance(group, list) for r in group if isinstance(r, dict)]


def kafka_positions(info: Mapping[str, Any]) -> list[OffsetRange | str]:
    """Where a metadata-only Kafka failure was: an offset range per `<topic>-<partition>` of
    `recordsInfo`; else (a `recordInfo` naming only an offset) the cluster and offset, as text."""
    positions: list[OffsetRange | str] = []
    for name, offsets in (info.get("recordsInfo") or {}).items():
        topic, _, partition = str(name).rpartition("-")
        first = offsets.get("firstRecordOffset")
        last = offsets.get("lastRecordOffset", first)
        try:
            if not topic:
                raise ValueError(name)
            positions.append(OffsetRange(topic, int(partition), int(first), int(last)))
        except (TypeError, ValueError):
            positions.append(f"{name}@{first}")
    if not positions:
        offset = (info.get("recordInfo") or {}).get("offset")
        positions.append(f"{info.get('eventSourceArn') or 'kafka'}@{offset}")
    return positions
