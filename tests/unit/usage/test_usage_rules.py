"""Usage rules as pure functions: windows, rejections, dedup in a request, grouping, envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meterplex.entitlements.grants import Grant
from meterplex.entitlements.keys import NEVER_ENDS
from meterplex.platform.events import DomainEvent
from meterplex.platform.relay import relay
from meterplex.usage.aggregator import group_by_counter
from meterplex.usage.counters import Target, target_for
from meterplex.usage.items import record_from_item, usage_item
from meterplex.usage.models import IncomingEvent, UsageRecord, record_from_envelope
from meterplex.usage.outbox import usage_message
from meterplex.usage.rules import (
    Caller,
    FeatureTerms,
    IngestWindow,
    Reason,
    Status,
    SubscriptionSpan,
    assess,
    may_ingest,
)

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
OLD = SubscriptionSpan(
    "sub-old",
    datetime(2026, 1, 10, tzinfo=UTC),
    None,
    datetime(2026, 3, 1, tzinfo=UTC),  # replaced by a plan change on Mar 1
    {"calls": FeatureTerms("METERED", "MONTHLY"), "gone": FeatureTerms("QUOTA", "MONTHLY")},
)
NEW = SubscriptionSpan(
    "sub-new",
    datetime(2026, 3, 1, tzinfo=UTC),
    None,
    None,
    {
        "calls": FeatureTerms("METERED", "MONTHLY"),
        "seats": FeatureTerms("QUOTA", "NEVER"),
        "sso": FeatureTerms("BOOLEAN", "MONTHLY"),
    },
)
WINDOW = IngestWindow(NOW, timedelta(days=35), timedelta(minutes=5))
CALLER = Caller("t1", "apikey:k", "corr")


def one(event: IncomingEvent, spans: list[SubscriptionSpan] | None = None):  # type: ignore[no-untyped-def]
    return assess(CALLER, [event], spans if spans is not None else [OLD, NEW], WINDOW)[0]


def ev(at: datetime, feature: str = "calls", event_id: str = "e1", amount: int = 1) -> IncomingEvent:
    return IncomingEvent(event_id, feature, amount, at)


def test_event_counts_against_the_subscription_active_at_its_timestamp() -> None:
    late = one(ev(datetime(2026, 2, 20, tzinfo=UTC)))
    assert late.status is Status.ACCEPTED and late.record is not None
    assert late.record.subscription_id == "sub-old"
    assert (late.record.window_start, late.record.window_end) == (
        "2026-02-10T00:00:00.000Z",
        "2026-03-10T00:00:00.000Z",
    )
    current = one(ev(NOW))
    assert current.record is not None and current.record.subscription_id == "sub-new"
    assert current.record.window_start == "2026-03-01T00:00:00.000Z"


def test_never_resetting_feature_has_one_lifetime_window() -> None:
    seats = one(ev(NOW, "seats"))
    assert seats.record is not None
    assert (seats.record.window_start, seats.record.window_end) == ("2026-03-01T00:00:00.000Z", NEVER_ENDS)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (ev(NOW + timedelta(minutes=6)), Reason.TIMESTAMP_IN_FUTURE),
        (ev(NOW - timedelta(days=36)), Reason.TIMESTAMP_TOO_OLD),
        (ev(datetime(2026, 1, 5, tzinfo=UTC)), Reason.TIMESTAMP_TOO_OLD),
        (ev(NOW, "nope"), Reason.FEATURE_NOT_IN_PLAN),
        (ev(NOW, "gone"), Reason.FEATURE_NOT_IN_PLAN),  # only in the old plan
        (ev(NOW, "sso"), Reason.BOOLEAN_FEATURE),
    ],
)
def test_rejections(event: IncomingEvent, reason: Reason) -> None:
    outcome = one(event)
    assert (outcome.status, outcome.reason, outcome.record) == (Status.REJECTED, reason, None)


def test_time_with_no_subscription_is_rejected() -> None:
    gap = [SubscriptionSpan("s", datetime(2026, 3, 10, tzinfo=UTC), None, None, NEW.features)]
    assert one(ev(datetime(2026, 3, 5, tzinfo=UTC)), gap).reason is Reason.NO_SUBSCRIPTION_AT_TIMESTAMP


def test_edges_of_the_ingest_window_are_accepted() -> None:
    assert one(ev(NOW + timedelta(minutes=5))).status is Status.ACCEPTED
    spans = [SubscriptionSpan("s", NOW - timedelta(days=40), None, None, NEW.features)]
    assert one(ev(NOW - timedelta(days=35)), spans).status is Status.ACCEPTED


def test_may_ingest_needs_a_subscription_now_or_within_the_late_window() -> None:
    assert may_ingest([OLD, NEW], WINDOW)
    ended_recently = SubscriptionSpan("s", datetime(2026, 1, 1, tzinfo=UTC), None, NOW - timedelta(days=30))
    ended_long_ago = SubscriptionSpan("s", datetime(2025, 1, 1, tzinfo=UTC), None, NOW - timedelta(days=36))
    assert may_ingest([ended_recently], WINDOW)
    assert not may_ingest([ended_long_ago], WINDOW)
    assert not may_ingest([], WINDOW)


def test_duplicate_in_a_request_counts_once_but_a_rejected_one_does_not_shadow() -> None:
    events = [ev(NOW, "nope", "a"), ev(NOW, "calls", "a"), ev(NOW, "calls", "a"), ev(NOW, "calls", "b")]
    outcomes = assess(CALLER, events, [NEW], WINDOW)
    assert [(o.event_id, o.status) for o in outcomes] == [
        ("a", Status.REJECTED),
        ("a", Status.ACCEPTED),
        ("a", Status.DUPLICATE),
        ("b", Status.ACCEPTED),
    ]


def record(event_id: str = "e1", window: str = "2026-03-01T00:00:00.000Z", **kw: object) -> UsageRecord:
    base = dict(
        tenant_id="t1",
        event_id=event_id,
        feature="calls",
        amount=2,
        timestamp="2026-03-20T12:00:00.000Z",
        subscription_id="sub-new",
        window_start=window,
        window_end="2026-04-01T00:00:00.000Z",
        received_at="2026-03-20T12:00:01.000Z",
        metadata='{"k":1}',
        actor="apikey:k",
        correlation_id="corr",
    )
    return UsageRecord(**(base | kw))  # type: ignore[arg-type]


USAGE_ARN = (
    "arn:aws:dynamodb:us-east-1:000000000000:table/meterplex-test-usage/stream/2026-01-01T00:00:00.000"
)
CORE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/meterplex-test-core/stream/2026-01-01T00:00:00.000"


def test_grouping_combines_per_counter_and_drops_redelivered_ids() -> None:
    records = [
        record("a"),
        record("b"),
        record("a"),
        record("c", "2026-02-01T00:00:00.000Z"),
        record("b", tenant_id="t2"),
    ]
    groups = group_by_counter(records)
    assert [[r.event_id for r in g] for g in groups.values()] == [["a", "b"], ["c"], ["b"]]


def test_envelope_round_trip_and_stream_item_to_kafka_message() -> None:
    original = record()
    assert record_from_envelope(original.envelope().to_json()) == original
    image = usage_item(original, datetime(2026, 5, 1, tzinfo=UTC))
    assert record_from_item(image) == original
    message = usage_message("7", image)
    assert (message.topic, message.key, message.sequence_number) == ("meterplex.usage.v1", "t1", "7")
    envelope = json.loads(message.value)
    assert envelope["type"] == "usage.recorded" and envelope["version"] == 1
    assert envelope["data"]["metadata"] == {"k": 1} and envelope["occurredAt"] == original.timestamp
    # the same event relayed twice carries the same envelope id
    assert json.loads(usage_message("8", image).value)["id"] == envelope["id"]


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"id":"1","type":"tenant.created","tenantId":"t","occurredAt":"x","data":{}}',
        json.dumps(record().envelope().__dict__ | {"data": {"eventId": "e"}}).encode(),
        json.dumps(record().envelope().__dict__ | {"version": 2}).encode(),
    ],
)
def test_unknown_shapes_are_poison(raw: bytes) -> None:
    with pytest.raises(ValueError):
        record_from_envelope(raw)


def grant(window_start: str, subscription: str = "sub-new") -> Grant:
    return Grant(
        "t1",
        "calls",
        subscription,
        "METERED",
        "2026-03-01T00:00:00.000Z",
        window_start,
        "x",
        reset_period="MONTHLY",
    )


def test_counter_target() -> None:
    key = record().counter  # window Mar 1 of sub-new
    at = datetime(2026, 3, 20, tzinfo=UTC)
    assert target_for(key, grant("2026-03-01T00:00:00.000Z"), at) is Target.GRANT
    assert (
        target_for(key, grant("2026-04-01T00:00:00.000Z"), datetime(2026, 4, 2, tzinfo=UTC)) is Target.ARCHIVE
    )
    assert target_for(key, grant("2026-03-01T00:00:00.000Z", "other"), at) is Target.ARCHIVE
    assert target_for(key, None, at) is Target.ARCHIVE
    stale = grant("2026-02-01T00:00:00.000Z")  # the grant has not rolled into March yet
    assert target_for(key, stale, at) is Target.ROLL


def test_relay_reports_a_malformed_usage_item_for_retry() -> None:
    class Producer:
        def produce(self, topic: str, value: bytes, key: bytes, headers: object, on_delivery: object) -> None:
            raise AssertionError("nothing to produce")

        def poll(self, timeout: float) -> int:
            return 0

        def flush(self, timeout: float) -> int:
            return 0

    image = usage_item(record(), datetime(2026, 5, 1, tzinfo=UTC))
    del image["windowStart"]
    malformed = {"eventSourceARN": USAGE_ARN, "dynamodb": {"SequenceNumber": "9", "NewImage": image}}
    failed = relay([malformed], Producer(), {"meterplex-test-usage": usage_message})
    assert failed == ["9"]


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any, on_delivery: Any) -> None:
        self.sent.append((topic, key, value))
        on_delivery(None, None)

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


def test_relay_maps_each_record_by_its_tables_mapper() -> None:
    # GIVEN a usage event item from the usage table and an outbox item from the core table
    usage = usage_item(record(), datetime(2026, 5, 1, tzinfo=UTC))
    envelope = DomainEvent.new("tenant.created", tenant_id="t9", at=datetime(2026, 5, 1, tzinfo=UTC), data={})
    outbox = {"outbox": {"S": "meterplex.domain.v1"}, "payload": {"S": envelope.to_json()}}
    records = [
        {"eventSourceARN": USAGE_ARN, "dynamodb": {"SequenceNumber": "1", "NewImage": usage}},
        {"eventSourceARN": CORE_ARN, "dynamodb": {"SequenceNumber": "2", "NewImage": outbox}},
    ]
    producer = RecordingProducer()
    # WHEN the relay runs with the usage table's mapper registered
    assert relay(records, producer, {"meterplex-test-usage": usage_message}) == []
    # THEN the usage item became a usage message, the outbox item its own payload
    assert [(topic, key) for topic, key, _ in producer.sent] == [
        ("meterplex.usage.v1", b"t1"),
        ("meterplex.domain.v1", b"t9"),
    ]
    # AND without the mapper, a usage item is not an outbox record: reported for retry
    assert relay(records[:1], RecordingProducer(), {}) == ["1"]
