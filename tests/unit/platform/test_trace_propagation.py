"""The trace contract (ADR 0105): the correlation id of the request that wrote an outbox record, and
the X-Ray trace header it was written under, travel on its Kafka message as headers; a consumer
handles each record under that id and logs one INFO line per record (the usage pipeline: one
per correlation id of a batch)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.functions import LambdaContext
from infra.local.kafka_poller import msk_event
from meterplex.platform import consumer as consumer_module
from meterplex.platform.consumer import KafkaConsumer, correlation_id_of, domain_event_of, trace_root_of
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import TRACE_ENV, current_correlation_id, logger
from meterplex.platform.outbox import outbox_item
from meterplex.platform.relay import relay
from meterplex.usage import aggregator
from meterplex.usage.aggregator import CountingBatchProcessor
from meterplex.usage.items import usage_item
from meterplex.usage.models import CounterKey, UsageRecord
from meterplex.usage.outbox import usage_message
from tests.support.kafka_events import FakeMessage
from tests.support.log_lines import captured_log_lines

AT = datetime(2026, 5, 1, tzinfo=UTC)
TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1"
CORE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/meterplex-test-core/stream/2026-01-01T00:00:00.000"
USAGE_ARN = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/meterplex-test-usage/stream/2026-01-01T00:00:00.000"
)


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any, on_delivery: Any) -> None:
        self.sent.append({"topic": topic, "key": key, "headers": dict(headers)})
        on_delivery(None, None)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def usage_record(correlation_id: str | None) -> UsageRecord:
    return UsageRecord(
        tenant_id="t1",
        event_id="e1",
        feature="calls",
        amount=2,
        timestamp="2026-03-20T12:00:00.000Z",
        subscription_id="sub",
        window_start="2026-03-01T00:00:00.000Z",
        window_end="2026-04-01T00:00:00.000Z",
        received_at="2026-03-20T12:00:01.000Z",
        correlation_id=correlation_id,
    )


def outbox_image(event: DomainEvent) -> dict[str, Any]:
    item = outbox_item(event, "meterplex.domain.v1")
    return {name: {"S": value} for name, value in item.attribute_values.items() if isinstance(value, str)}


def stream_record(arn: str, sequence: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"eventSourceARN": arn, "dynamodb": {"SequenceNumber": sequence, "NewImage": image}}


def test_relay_puts_the_writers_correlation_id_and_trace_header_on_each_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN an outbox item and a usage item, each written by a traced request with a correlation id
    monkeypatch.setenv(TRACE_ENV, TRACE)
    event = DomainEvent.new("tenant.created", tenant_id="t9", at=AT, data={}, correlation_id="req-outbox")
    records = [
        stream_record(CORE_ARN, "1", outbox_image(event)),
        stream_record(USAGE_ARN, "2", usage_item(usage_record("req-usage"), AT, trace_header=TRACE)),
    ]
    # WHEN the relay runs in an untraced invocation of its own
    monkeypatch.delenv(TRACE_ENV)
    producer = RecordingProducer()
    assert relay(records, producer, {"meterplex-test-usage": usage_message}) == []
    # THEN each message carries its writer's correlation id and trace header
    assert [m["headers"] for m in producer.sent] == [
        {"x-correlation-id": b"req-outbox", "x-amzn-trace-id": TRACE.encode()},
        {"x-correlation-id": b"req-usage", "x-amzn-trace-id": TRACE.encode()},
    ]


def test_relay_sends_no_empty_headers_and_falls_back_to_its_own_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a usage item stored without correlation id or trace header
    records = [stream_record(USAGE_ARN, "1", usage_item(usage_record(None), AT))]
    producer = RecordingProducer()
    # WHEN an untraced relay relays it, then a traced one
    relay(records, producer, {"meterplex-test-usage": usage_message})
    monkeypatch.setenv(TRACE_ENV, TRACE)
    relay(records, producer, {"meterplex-test-usage": usage_message})
    # THEN no header at all, then only the relay's own trace header
    assert [m["headers"] for m in producer.sent] == [{}, {"x-amzn-trace-id": TRACE.encode()}]


def test_domain_events_take_the_correlation_id_being_handled() -> None:
    # GIVEN a request's correlation id set on the logger (as platform.api does per request)
    logger.set_correlation_id("req-42")
    try:
        # WHEN a write builds an event without naming one, and another that names its own
        implicit = DomainEvent.new("invoice.finalized", tenant_id="t", at=AT, data={})
        explicit = DomainEvent.new("invoice.finalized", tenant_id="t", at=AT, data={}, correlation_id="own")
    finally:
        logger.set_correlation_id(None)
    # THEN the first carries the request's, the second its own; outside a request: none
    assert (implicit.correlationId, explicit.correlationId) == ("req-42", "own")
    assert DomainEvent.new("x.y", tenant_id="t", at=AT, data={}).correlationId is None


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What the Powertools logger writes meanwhile, as parsed JSON lines."""
    with captured_log_lines() as lines:
        yield lines


def kafka_batch(values: list[tuple[bytes, list[tuple[str, bytes]]]]) -> dict[str, Any]:
    messages = [
        FakeMessage("t.v1", 0, offset, value, b"tenant", headers)
        for offset, (value, headers) in enumerate(values)
    ]
    return msk_event(messages, "127.0.0.1:9092")


def test_consumer_handles_each_record_under_its_correlation_id_and_logs_one_line(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # GIVEN three records: one with the header, one whose envelope alone has the id, one with neither
    with_header = DomainEvent.new("a.done", tenant_id="t", at=AT, data={}, correlation_id="from-envelope")
    old = DomainEvent.new("b.done", tenant_id="t", at=AT, data={}, correlation_id="only-envelope")
    bare = DomainEvent.new("c.done", tenant_id="t", at=AT, data={})
    event = kafka_batch(
        [
            (
                with_header.to_json().encode(),
                [("x-correlation-id", b"from-header"), ("x-amzn-trace-id", TRACE.encode())],
            ),
            (old.to_json().encode(), []),
            (bare.to_json().encode(), [("x-correlation-id", b"bad id with spaces")]),
        ]
    )
    seen: list[str | None] = []

    def handle(message: DomainEvent) -> str:
        seen.append(current_correlation_id())
        return f"did {message.type}"

    # WHEN the consumer runs
    KafkaConsumer("test_consumer", domain_event_of).run(event, LambdaContext("test_consumer"), handle)
    # THEN each was handled under its id (header first, envelope next, never an invalid one) …
    assert seen == ["from-header", "only-envelope", None]
    # … and each left one INFO line saying what became of it, with its ids
    lines = [line for line in log_lines() if line["message"] == "record processed"]
    assert [(line.get("correlation_id"), line["outcome"], line["event_id"]) for line in lines] == [
        ("from-header", "did a.done", with_header.id),
        ("only-envelope", "did b.done", old.id),
        (None, "did c.done", bare.id),
    ]
    assert lines[0]["upstream_trace_id"] == "1-67891233-abcdef012345678912345678"
    assert all(line["level"] == "INFO" and line["source"].startswith("t.v1-0@") for line in lines)


def test_a_poison_record_is_dead_lettered_under_its_correlation_id(
    monkeypatch: pytest.MonkeyPatch, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    monkeypatch.setattr(consumer_module, "dead_letter", lambda **kw: None)
    event = kafka_batch([(b"not json", [("x-correlation-id", b"req-poison")])])
    KafkaConsumer("test_consumer", domain_event_of).run(event, LambdaContext("test_consumer"), lambda m: None)
    errors = [line for line in log_lines() if "dead-lettered" in line["message"]]
    assert [line.get("correlation_id") for line in errors] == ["req-poison"]


def test_header_readers_ignore_what_is_not_an_id() -> None:
    records = kafka_batch(
        [(b"{}", [("X-Correlation-Id", b"Mixed-Case.ok"), ("x-amzn-trace-id", b"Sampled=1")])]
    )
    from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEvent

    record = next(KafkaEvent(records).records)
    assert correlation_id_of(record) == "Mixed-Case.ok"
    assert trace_root_of(record) is None  # no Root= part


def test_produce_all_sends_the_invocations_correlation_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a billing run's correlation id (its schedule execution) and no trace
    from meterplex.platform.kafka import produce_all

    producer = RecordingProducer()
    logger.set_correlation_id("run-2026-12-01")
    try:
        # WHEN it publishes its invoice.due messages
        produce_all(producer, "meterplex.invoicing.v1", [("t1", "{}"), ("t2", "{}")])
    finally:
        logger.set_correlation_id(None)
    # THEN each carries the id; outside an invocation with one, no header at all
    assert [m["headers"] for m in producer.sent] == [{"x-correlation-id": b"run-2026-12-01"}] * 2
    produce_all(producer, "meterplex.invoicing.v1", [("t1", "{}")])
    assert producer.sent[-1]["headers"] == {}


def test_relay_logs_one_line_per_correlation_id_of_a_batch_naming_its_event_ids(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # GIVEN a batch of three usage items: two of one request, one of another
    usages = [
        replace(usage_record("req-a"), event_id="e1"),
        replace(usage_record("req-a"), event_id="e2"),
        replace(usage_record("req-b"), event_id="e3"),
    ]
    records = [stream_record(USAGE_ARN, str(i), usage_item(u, AT)) for i, u in enumerate(usages, 1)]
    # WHEN the relay sends them
    assert relay(records, RecordingProducer(), {"meterplex-test-usage": usage_message}) == []
    # THEN one line per request, under its correlation id, with its messages' event ids
    lines = [line for line in log_lines() if line["message"] == "outbox messages relayed"]
    assert [(x["correlation_id"], x["event_ids"], x["messages"]) for x in lines] == [
        ("req-a", ["e1", "e2"], 2),
        ("req-b", ["e3"], 1),
    ]
    assert [(x["first_sequence_number"], x["last_sequence_number"]) for x in lines] == [
        ("1", "2"),
        ("3", "3"),
    ]


def test_aggregator_logs_one_line_per_correlation_id_and_outcome_of_a_batch(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # GIVEN a batch of four usage records: three of request a (one of them counted before), one of b
    usages = [
        replace(usage_record("req-a"), event_id="e1"),
        replace(usage_record("req-a"), event_id="e2"),
        replace(usage_record("req-a"), event_id="e3", feature="seats"),
        replace(usage_record("req-b"), event_id="e4"),
    ]
    event = kafka_batch([(u.envelope().to_json().encode(), []) for u in usages])

    @dataclass
    class Applied:
        already_counted: list[UsageRecord]

    def apply(key: CounterKey, batch: list[UsageRecord]) -> Applied:
        return Applied([u for u in batch if u.event_id == "e2"])

    # WHEN the aggregator's processor applies them
    consumer = KafkaConsumer(aggregator.CONSUMER, aggregator.parse)
    reply = consumer.run(event, LambdaContext("usage_aggregator"), processor=CountingBatchProcessor(apply))
    # THEN every record succeeded, and each (request, outcome) left one line naming its events
    assert reply == {"batchItemFailures": []}
    lines = [line for line in log_lines() if line["message"] == "usage events applied"]
    assert sorted((x["correlation_id"], x["outcome"], x["event_ids"], x["events"]) for x in lines) == [
        ("req-a", "already counted", ["e2"], 1),
        ("req-a", "counted", ["e1", "e3"], 2),
        ("req-b", "counted", ["e4"], 1),
    ]
    counted_a = next(x for x in lines if x["correlation_id"] == "req-a" and x["outcome"] == "counted")
    assert counted_a["features"] == ["calls", "seats"] and counted_a["tenant_id"] == "t1"
    assert counted_a["first_source"] != counted_a["last_source"]
