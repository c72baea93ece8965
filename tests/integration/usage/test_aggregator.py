"""usage_aggregator in-process against moto server: counting, idempotence and faults (SPEC §6).

Batches are built exactly as the relay and the Kafka poller build them (MSK event format)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.periods import usage_window_for
from meterplex.platform.clock import iso
from meterplex.platform.dead_letters import dead_letters
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from meterplex.usage import counters
from tests.integration.catalog.builders import build_plan
from tests.integration.catalog.handlers import admin, call
from tests.integration.usage.helpers import (
    World,
    aggregate,
    aggregator,
    archive_used,
    check_used,
    envelopes,
    event,
    grant_used,
    send,
    stored_item,
    subscribed,
)

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def accepted(world: World, events: list[dict[str, Any]]) -> list[str]:
    reply = send(world.tenant, events)
    assert reply.status == 202, reply.body
    return [e["eventId"] for e in reply.body["events"] if e["status"] == "accepted"]


def calls(world: World, n: int, amount: int = 1, at: datetime | None = None) -> list[dict[str, Any]]:
    return [event(f"e-{uuid.uuid4().hex}", world.key("calls"), amount, at) for _ in range(n)]


def test_a_batch_is_counted_once_and_combined_per_counter() -> None:
    world = subscribed()
    ids = accepted(world, calls(world, 250, amount=2))
    before = counters.STATS.counter_writes, counters.STATS.receipt_writes
    # WHEN one Kafka batch of 250 events (of one ingest request) reaches the aggregator
    assert aggregate(envelopes(world.tenant, ids)) == {"batchItemFailures": []}
    # THEN the counter holds them all, written once with the request's one counting receipt
    assert check_used(world, "calls") == 500
    assert (counters.STATS.counter_writes - before[0], counters.STATS.receipt_writes - before[1]) == (1, 1)


def test_events_of_many_requests_take_one_transaction_per_99_requests() -> None:
    world = subscribed()
    ids = [i for _ in range(150) for i in accepted(world, calls(world, 1))]  # 150 requests of 1 event
    before = counters.STATS.counter_writes, counters.STATS.receipt_writes
    assert aggregate(envelopes(world.tenant, ids)) == {"batchItemFailures": []}
    assert check_used(world, "calls") == 150
    assert (counters.STATS.counter_writes - before[0], counters.STATS.receipt_writes - before[1]) == (2, 150)


def test_the_same_batch_delivered_twice_changes_nothing() -> None:
    world = subscribed()
    values = envelopes(world.tenant, accepted(world, calls(world, 30, amount=3)))
    aggregate(values)
    assert check_used(world, "calls") == 90
    # WHEN Kafka redelivers the batch (same offsets), and the relay duplicates one event elsewhere
    assert aggregate(values) == {"batchItemFailures": []}
    aggregate(values[:1], first_offset=1000, partition=2)
    # THEN the counter is unchanged
    assert check_used(world, "calls") == 90


def test_a_redelivered_batch_of_500_is_acknowledged_not_retried_forever() -> None:
    # GIVEN a full batch (500 events: six transactions of ≤ 99) already counted
    world = subscribed()
    values = envelopes(world.tenant, accepted(world, calls(world, 500)))
    assert aggregate(values) == {"batchItemFailures": []}
    # WHEN Kafka redelivers it: every transaction is cancelled (all marks fail) — that is progress,
    # not a conflict, so it must not exhaust the retry budget (it did: CounterBusy on the 6th)
    assert aggregate(values) == {"batchItemFailures": []}
    assert check_used(world, "calls") == 500


def test_duplicates_in_one_batch_count_once() -> None:
    world = subscribed()
    values = envelopes(world.tenant, accepted(world, calls(world, 5)))
    aggregate(values + values[:3])  # the relay delivered three events twice, in the same batch
    assert check_used(world, "calls") == 5


def test_duplicate_event_id_in_a_request_and_across_requests_counted_once() -> None:
    world = subscribed()
    first, second = calls(world, 1, amount=7)[0], calls(world, 1, amount=5)[0]
    reply = send(world.tenant, [first, first, second])
    assert [e["status"] for e in reply.body["events"]] == ["accepted", "duplicate", "accepted"]
    again = send(world.tenant, [first, second])
    assert [e["status"] for e in again.body["events"]] == ["duplicate", "duplicate"]
    aggregate(envelopes(world.tenant, [first["eventId"], second["eventId"]]))
    assert check_used(world, "calls") == 12


class Crash(BaseException):
    """The invocation dies (timeout, OOM): nothing after this point runs, nothing is reported."""


class CrashingClient:
    """The real client, killed after `survive` transactions."""

    def __init__(self, client: Any, survive: int) -> None:
        self._client, self.left = client, survive

    def transact_write_items(self, **kw: Any) -> Any:
        if self.left == 0:
            raise Crash()
        self.left -= 1
        return self._client.transact_write_items(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_consumer_that_crashes_mid_batch_and_is_retried_counts_everything_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a batch of three counters (calls ×2 windows, api), 200 events
    world = subscribed()
    late = datetime.now(UTC) - timedelta(days=20)
    events = calls(world, 120) + calls(world, 30, amount=2, at=late)
    events += [event(f"q-{uuid.uuid4().hex}", world.key("api"), 1) for _ in range(50)]
    values = envelopes(world.tenant, accepted(world, events))
    store = aggregator().counters
    # WHEN the consumer dies after two transactions have committed
    monkeypatch.setattr(store, "client", CrashingClient(dynamodb_client(), survive=2))
    with pytest.raises(Crash):
        aggregate(values)
    partial = grant_used(world, "calls") + grant_used(world, "api")
    assert 0 < partial < 170
    # AND the event source mapping retries the whole batch with a healthy consumer
    monkeypatch.setattr(store, "client", dynamodb_client())
    assert aggregate(values) == {"batchItemFailures": []}
    # THEN nothing is lost and nothing is counted twice
    window_start = iso(usage_window_for("MONTHLY", world.started_at, None, late)[0])
    assert (check_used(world, "calls"), check_used(world, "api")) == (120, 50)
    assert archive_used(world, "calls", window_start) == 60


def test_a_transient_failure_reports_only_that_counters_records(monkeypatch: pytest.MonkeyPatch) -> None:
    world = subscribed()
    values = envelopes(world.tenant, accepted(world, calls(world, 3)))
    values += envelopes(world.tenant, accepted(world, [event(f"q-{uuid.uuid4().hex}", world.key("api"))]))
    store = aggregator().counters
    real = store.apply

    def flaky(key: Any, records: Any, *applied: Any) -> Any:
        if key.feature == world.key("api"):
            raise counters.CounterBusy("conflict")
        return real(key, records, *applied)

    monkeypatch.setattr(store, "apply", flaky)
    response = aggregate(values, first_offset=10)
    assert response["batchItemFailures"] == [
        {"itemIdentifier": {"partition": "meterplex.usage.v1-0", "offset": 13}}
    ]
    monkeypatch.setattr(store, "apply", real)
    aggregate(values[3:], first_offset=13)  # the mapping retries from the failed offset
    assert (check_used(world, "calls"), check_used(world, "api")) == (3, 1)


def test_a_poison_record_is_dead_lettered_and_the_rest_processed() -> None:
    world = subscribed()
    good = envelopes(world.tenant, accepted(world, calls(world, 4)))
    poison = [
        b"\xff\xfe not json",
        b'{"id":"x","type":"usage.recorded","tenantId":"t","occurredAt":"x","data":{}}',
    ]
    response = aggregate([good[0], poison[0], good[1], poison[1], *good[2:]], first_offset=500, partition=1)
    assert response == {"batchItemFailures": []}
    assert check_used(world, "calls") == 4
    letters = {d.source: d.reason for d in dead_letters("usage_aggregator")}
    assert "meterplex.usage.v1-1@501" in letters and "meterplex.usage.v1-1@503" in letters
    assert "amount" in letters["meterplex.usage.v1-1@503"]


def test_an_event_20_days_late_lands_in_its_own_window() -> None:
    # GIVEN a subscription 40 days old: now is its second monthly window, 20 days ago its first
    world = subscribed(days_ago=40)
    late_at = datetime.now(UTC) - timedelta(days=20)
    late_window = iso(usage_window_for("MONTHLY", world.started_at, None, late_at)[0])
    current_window = iso(usage_window_for("MONTHLY", world.started_at, None, datetime.now(UTC))[0])
    assert late_window != current_window
    # WHEN a late event and a current one are counted (late first, in one batch), then another late one
    late, now = calls(world, 1, amount=9, at=late_at), calls(world, 1, amount=4)
    aggregate(envelopes(world.tenant, accepted(world, late + now)))
    aggregate(
        envelopes(world.tenant, accepted(world, calls(world, 1, amount=1, at=late_at))), first_offset=50
    )
    # THEN the late units are in the first window's counter, the current window only has its own
    assert archive_used(world, "calls", late_window) == 10
    assert check_used(world, "calls") == 4


def test_after_a_plan_change_an_event_counts_against_the_subscription_active_at_its_timestamp() -> None:
    # GIVEN a tenant on plan A for 10 days, then changed (now) to plan B that keeps the feature
    world = subscribed(days_ago=10)
    plan_b = build_plan({})
    extra = call(
        "catalog_api",
        "POST",
        f"/api/v1/plans/{plan_b.id}/entitlements",
        {"featureId": world.plan.feature_ids["calls"], "includedAmount": 50, "overagePrice": 1},
        principal=admin(),
    )
    assert extra.status == 201, extra.body
    new_sub = SubscriptionService(DynamoSubscriptionRepository(), catalog_service()).subscribe(
        world.tenant, plan_id=plan_b.id, price_id=plan_b.monthly_price_id
    )
    # WHEN an event from 5 days ago (plan A's time) and one from now are ingested and counted
    before = calls(world, 1, amount=6, at=datetime.now(UTC) - timedelta(days=5))
    reply = send(world.tenant, before + calls(world, 1, amount=2))
    assert [e["status"] for e in reply.body["events"]] == ["accepted", "accepted"]
    assert stored_item(world.tenant, before[0]["eventId"])["subscriptionId"]["S"] == world.subscription_id  # type: ignore[index]
    aggregate(envelopes(world.tenant, [e["eventId"] for e in reply.body["events"]]))
    # THEN the old event is on the old subscription's window, the new one on the new grant
    old_window = iso(usage_window_for("MONTHLY", world.started_at, None, world.started_at)[0])
    assert archive_used(world, "calls", old_window) == 6
    assert check_used(world, "calls") == 2
    assert new_sub.id != world.subscription_id


def test_two_consumers_counting_the_same_events_at_once_count_them_once() -> None:
    # GIVEN another consumer instance that counts the same events just before this one writes
    from meterplex.platform.settings import UsageSettings, load
    from meterplex.usage.models import record_from_envelope
    from tests.support.dynamodb_faults import before_next_transaction

    world = subscribed()
    values = envelopes(world.tenant, accepted(world, calls(world, 20, amount=2)))
    records = [record_from_envelope(v) for v in values]
    settings = load(UsageSettings)
    other = counters.CounterStore(
        settings.core_table, settings.usage_table, late_window=timedelta(days=settings.late_window_days)
    )
    # WHEN both write (the receipts were read empty by both)
    with before_next_transaction(
        lambda: other.apply(records[0].counter, records), client=dynamodb_client()
    ) as ran:
        assert aggregate(values) == {"batchItemFailures": []}
    # THEN the receipt written first wins; the second finds every bit set and adds nothing
    assert ran == [1]
    assert check_used(world, "calls") == 40


def test_a_redrive_of_counted_events_adds_nothing_and_of_uncounted_ones_counts_them() -> None:
    world = subscribed()
    ids = accepted(world, calls(world, 10))
    counted, lost = envelopes(world.tenant, ids[:6]), envelopes(world.tenant, ids[6:])
    aggregate(counted)
    # WHEN reconciliation re-drives all ten (it cannot know which six were counted)
    aggregate(counted + lost, first_offset=9_000)
    # THEN the four never counted are counted, the six are not counted again
    assert check_used(world, "calls") == 10


def test_a_receipt_outlives_its_usage_items_whatever_the_late_window() -> None:
    # GIVEN a platform configured with a 200-day late window (the setting allows up to 365)
    from meterplex.platform.settings import UsageSettings, load
    from meterplex.usage.keys import ReceiptAttr, receipt_pk, receipt_sk
    from meterplex.usage.models import record_from_envelope

    settings = load(UsageSettings)
    late = timedelta(days=200)
    world = subscribed()
    records = [record_from_envelope(v) for v in envelopes(world.tenant, accepted(world, calls(world, 3)))]
    store = counters.CounterStore(settings.core_table, settings.usage_table, late_window=late)
    # WHEN its aggregator counts the events
    store.apply(records[0].counter, records)
    # THEN their receipt expires no sooner than a usage item stored with that window would: a
    # re-drive of these events within their dedup lifetime still finds their bits set
    key, (request_id, _) = records[0].counter, records[0].receipt
    receipt = dynamodb_client().get_item(
        TableName=settings.usage_table,
        Key={
            "pk": {"S": receipt_pk(world.tenant, request_id)},
            "sk": {"S": receipt_sk(key.feature, key.subscription_id, key.window_start)},
        },
        ConsistentRead=True,
    )["Item"]
    received = max(datetime.fromisoformat(r.received_at) for r in records)
    usage_item_expires = received + late + timedelta(days=1)
    assert int(receipt[ReceiptAttr.EXPIRES_AT]["N"]) >= usage_item_expires.timestamp()
