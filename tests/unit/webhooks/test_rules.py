"""Pure webhook rules: the retry schedule with its jitter, Retry-After, signatures (checked with the
independent `standardwebhooks` library), delivery ids, the event catalogue and threshold crossings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from meterplex.entitlements.thresholds import crossed
from meterplex.platform.events import DomainEvent
from meterplex.webhooks import signing
from meterplex.webhooks.catalog import SOURCE_TOPICS, WebhookEventType, body_of, webhook_type_of
from meterplex.webhooks.models import delivery_id, excerpt
from meterplex.webhooks.retries import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    next_attempt_at,
    parse_retry_after,
    retry_delay,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_retry_schedule_is_the_specs_with_ten_percent_jitter_then_exhausted() -> None:
    assert [d.total_seconds() for d in RETRY_DELAYS] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        50400,
        72000,
        86400,
    ]
    assert MAX_ATTEMPTS == 10
    for n, base in enumerate(RETRY_DELAYS, start=1):
        delay = retry_delay("d-1", n)
        assert delay is not None and base * 0.9 <= delay <= base * 1.1
    assert retry_delay("d-1", 10) is None and next_attempt_at("d-1", 10, T0) is None


def test_jitter_is_stable_per_delivery_and_attempt_and_spreads_deliveries() -> None:
    assert retry_delay("d-1", 2) == retry_delay("d-1", 2)
    spread = {retry_delay(f"d-{i}", 2) for i in range(50)}
    assert len(spread) > 40


def test_retry_after_postpones_but_never_hastens_and_is_capped() -> None:
    base = next_attempt_at("d-1", 1, T0)
    assert base is not None
    assert next_attempt_at("d-1", 1, T0, timedelta(seconds=1)) == base
    assert next_attempt_at("d-1", 1, T0, timedelta(seconds=120)) == T0 + timedelta(seconds=120)
    assert next_attempt_at("d-1", 1, T0, timedelta(days=9)) == T0 + timedelta(hours=24)


def test_parse_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("30", T0) == timedelta(seconds=30)
    assert parse_retry_after("Sun, 01 Mar 2026 12:02:00 GMT", T0) == timedelta(minutes=2)
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", T0) == timedelta(0)
    assert parse_retry_after("soon", T0) is None and parse_retry_after(None, T0) is None


def test_signatures_verify_with_the_standardwebhooks_library_and_rotation_sends_both() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    assert old.startswith("whsec_") and len(signing.key_of(old)) == 32
    body = json.dumps({"id": "evt_1", "type": "webhook.test"})
    now = int(datetime.now(UTC).timestamp())
    headers = signing.webhook_headers([signing.key_of(new), signing.key_of(old)], "evt_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(body, headers)["id"] == "evt_1"
    assert Webhook(old).verify(body, headers)["id"] == "evt_1"
    only_new = signing.webhook_headers([signing.key_of(new)], "evt_1", now, body)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, only_new)
    with pytest.raises(WebhookVerificationError):  # a changed body
        Webhook(new).verify(body + " ", only_new)


def test_delivery_ids_are_deterministic_per_event_and_endpoint_and_sort_by_event_time() -> None:
    first = delivery_id("e-1", "ep-1", T0)
    assert first == delivery_id("e-1", "ep-1", T0)
    assert first != delivery_id("e-1", "ep-2", T0) != delivery_id("e-2", "ep-1", T0)
    later = delivery_id("e-0", "ep-1", T0 + timedelta(milliseconds=1))
    assert sorted([later, first]) == [first, later]


def test_excerpt_is_bounded_in_bytes_and_cut_on_a_character() -> None:
    assert excerpt(b"x" * 1000) == "x" * 256
    assert excerpt(("é" * 200).encode()) == "é" * 128


def test_the_catalogue_maps_producers_types_and_accepts_payments_as_soon_as_they_publish() -> None:
    assert webhook_type_of("invoice.finalized") is WebhookEventType.INVOICE_FINALIZED
    assert webhook_type_of("payment.succeeded") is WebhookEventType.PAYMENT_SUCCEEDED
    assert webhook_type_of("subscription.renewed") is WebhookEventType.SUBSCRIPTION_UPDATED
    assert webhook_type_of("subscription.ended") is WebhookEventType.SUBSCRIPTION_CANCELLED
    assert webhook_type_of("subscription.unpaid") is WebhookEventType.SUBSCRIPTION_UPDATED
    assert webhook_type_of("tenant.created") is None and webhook_type_of("usage.recorded") is None
    assert set(SOURCE_TOPICS) == {"meterplex.billing.v1", "meterplex.domain.v1"}


def test_the_body_carries_the_resource_after_the_change() -> None:
    event = DomainEvent.new(
        "invoice.finalized",
        tenant_id="t-1",
        at=T0,
        data={"resource": "invoice", "resourceId": "i-1", "changes": {"id": "i-1", "total": 500}},
    )
    found = body_of(event)
    assert found is not None
    type_, body = found
    assert type_ is WebhookEventType.INVOICE_FINALIZED
    assert json.loads(body) == {
        "id": event.id,
        "type": "invoice.finalized",
        "createdAt": "2026-03-01T12:00:00.000Z",
        "tenantId": "t-1",
        "data": {"id": "i-1", "total": 500},
    }


@pytest.mark.parametrize(
    ("before", "after", "allowance", "expected"),
    [
        (0, 79, 100, ()),
        (79, 80, 100, (80,)),
        (80, 99, 100, ()),
        (99, 100, 100, (100,)),
        (0, 150, 100, (80, 100)),
        (100, 200, 100, ()),
        (0, 4, 5, (80,)),  # 4 × 100 ≥ 5 × 80
        (0, 10, 0, ()),  # nothing included: nothing to approach
        (50, 40, 100, ()),
    ],
)
def test_crossed(before: int, after: int, allowance: int, expected: tuple[int, ...]) -> None:
    assert crossed(before, after, allowance) == expected


@given(
    allowance=st.integers(1, 10_000),
    steps=st.lists(st.integers(1, 5_000), min_size=1, max_size=30),
)
def test_each_threshold_is_crossed_exactly_once_on_the_way_up(allowance: int, steps: list[int]) -> None:
    used, seen = 0, []
    for step in steps:
        seen += crossed(used, used + step, allowance)
        used += step
    assert seen == [t for t in (80, 100) if used * 100 >= allowance * t]
