"""usage_api in-process against moto server: SPEC §6 validation, statuses, dedup, storage."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.platform.auth import Role
from tests.integration.catalog.handlers import api_key, call, in_parallel, serialize_moto_writes, user
from tests.integration.usage.helpers import World, event, send, stored_item, subscribed

pytestmark = pytest.mark.usefixtures("moto_endpoint")


@pytest.fixture(scope="module")
def world() -> World:
    return subscribed(days_ago=40)


def ids(n: int) -> list[str]:
    return [f"evt-{uuid.uuid4().hex}" for _ in range(n)]


def test_ingest_statuses_in_request_order(world: World) -> None:
    a, b, c, d, e = ids(5)
    now = datetime.now(UTC)
    reply = send(
        world.tenant,
        [
            event(a, world.key("calls"), 3),
            event(b, "not_in_plan"),
            event(c, world.key("sso")),
            event(a, world.key("calls"), 3),  # the same id again in this request
            event(d, world.key("api"), at=now + timedelta(minutes=10)),
            event(e, world.key("api"), at=now - timedelta(days=36)),
        ],
    )
    assert reply.status == 202, reply.body
    assert (reply.body["accepted"], reply.body["duplicates"], reply.body["rejected"]) == (1, 1, 4)
    assert [(x["eventId"], x["status"], x.get("reason")) for x in reply.body["events"]] == [
        (a, "accepted", None),
        (b, "rejected", "FEATURE_NOT_IN_PLAN"),
        (c, "rejected", "BOOLEAN_FEATURE"),
        (a, "duplicate", None),
        (d, "rejected", "TIMESTAMP_IN_FUTURE"),
        (e, "rejected", "TIMESTAMP_TOO_OLD"),
    ]
    # THEN only the accepted event is stored; rejected ones are not remembered
    assert stored_item(world.tenant, a) is not None
    assert all(stored_item(world.tenant, x) is None for x in (b, c, d, e))


def test_rejected_event_can_be_corrected_and_resent(world: World) -> None:
    (x,) = ids(1)
    assert send(world.tenant, [event(x, "nope")]).body["events"][0]["status"] == "rejected"
    assert send(world.tenant, [event(x, world.key("calls"))]).body["events"][0]["status"] == "accepted"


def test_duplicate_across_requests_is_reported(world: World) -> None:
    batch_ids = ids(150)  # two transactions of puts
    first = send(world.tenant, [event(i, world.key("calls")) for i in batch_ids])
    assert first.body["accepted"] == 150
    again = send(
        world.tenant,
        [event(i, world.key("calls")) for i in batch_ids[140:]]
        + [event("fresh-" + x, world.key("calls")) for x in ids(2)],
    )
    assert (again.body["accepted"], again.body["duplicates"]) == (2, 10)


def test_stored_item_carries_counter_identity(world: World) -> None:
    (x,) = ids(1)
    at = datetime.now(UTC) - timedelta(days=20)
    send(world.tenant, [event(x, world.key("calls"), 7, at, metadata={"region": "eu"})])
    item = stored_item(world.tenant, x)
    assert item is not None
    assert item["subscriptionId"]["S"] == world.subscription_id
    assert item["amount"]["N"] == "7"
    assert item["windowStart"]["S"] <= item["timestamp"]["S"] < item["windowEnd"]["S"]
    assert item["expiresAt"]["N"]
    assert item["metadata"]["S"] == '{"region":"eu"}'


def test_event_before_the_subscription_started_is_rejected() -> None:
    world = subscribed(days_ago=10)
    (x,) = ids(1)
    reply = send(world.tenant, [event(x, world.key("calls"), at=world.started_at - timedelta(days=1))])
    assert reply.body["events"][0] == {
        "eventId": x,
        "status": "rejected",
        "reason": "NO_SUBSCRIPTION_AT_TIMESTAMP",
    }


def test_malformed_batches_are_400_with_details(world: World) -> None:
    bad = send(
        world.tenant, [event("a", "f"), {"eventId": "b", "feature": "f", "amount": 1, "timestamp": "nope"}]
    )
    assert bad.status == 400 and "events[1].timestamp" in bad.fields()
    missing = send(world.tenant, [{"eventId": "c", "amount": 0}])
    assert (
        missing.status == 400
        and {"events[0].feature", "events[0].amount", "events[0].timestamp"} <= missing.fields()
    )
    assert send(world.tenant, []).status == 400
    assert send(world.tenant, [event(f"e{i}", "f") for i in range(1001)]).status == 400
    assert send(world.tenant, [event("x" * 256, "f")]).status == 400
    raw = call(
        "usage_api", "POST", "/api/v1/usage/events", raw_body="{not json", principal=api_key(world.tenant)
    )
    assert (raw.status, raw.code) == (400, "MALFORMED_JSON")


def test_jwt_is_403_and_no_subscription_is_403(world: World) -> None:
    jwt = send(
        world.tenant,
        [event("j", world.key("calls"))],
        principal=user({world.tenant: Role.OWNER}),
        tenant=world.tenant,
    )
    assert (jwt.status, jwt.code) == (403, "API_KEY_REQUIRED")
    stranger = send(str(uuid.uuid4()), [event("s", "f")])
    assert (stranger.status, stranger.code) == (403, "NO_ACTIVE_SUBSCRIPTION")


def test_any_string_is_an_event_id(world: World) -> None:
    weird = "ünï cødé #/ sk=EVENT " + uuid.uuid4().hex
    reply = send(world.tenant, [event(weird, world.key("calls"))])
    assert reply.body["events"][0]["status"] == "accepted"
    assert stored_item(world.tenant, weird) is not None


def test_concurrent_requests_with_the_same_ids_store_each_once(world: World) -> None:
    # GIVEN 8 callers racing to send the same 120 events (linearizable writes, as DynamoDB's)
    serialize_moto_writes()
    batch_ids = ids(120)
    events = [event(i, world.key("calls")) for i in batch_ids]
    # WHEN they send it at the same moment, each from its own execution environment
    replies = in_parallel("usage_api", lambda: send(world.tenant, events), [()] * 8)
    # THEN every event was accepted by exactly one request; the others saw duplicates
    assert all(r.status == 202 for r in replies)
    accepted = Counter(e["eventId"] for r in replies for e in r.body["events"] if e["status"] == "accepted")
    assert accepted == dict.fromkeys(batch_ids, 1)
    assert sum(r.body["duplicates"] for r in replies) == 7 * 120
