"""SPEC §0 input limits, enforced once at the edge (platform.limits via the resolver factory).

Issue 9, finding 3: each of these inputs answered 500 on c177655; now each is a 4xx envelope (or,
for a usage timestamp, a per-event rejection), and nothing is written.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from meterplex.platform.auth import Role
from tests.integration.catalog.handlers import api_key, call, user
from tests.integration.identity.conftest import register
from tests.integration.usage.helpers import World, send, stored_item, subscribed
from tests.support.api_client import ApiClient

pytestmark = pytest.mark.usefixtures("moto_endpoint")

LOGIN = "/api/v1/auth/login"


def assert_envelope(reply, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert reply.status == status, reply.body
    assert reply.body["code"] == code, reply.body
    assert reply.body["statusCode"] == status and reply.body["correlationId"]


@pytest.fixture(scope="module")
def world() -> World:
    return subscribed(days_ago=3)


def test_login_with_json_nested_100000_deep_is_400() -> None:
    reply = ApiClient().post(LOGIN, raw_body=b"[" * 100_000 + b"]" * 100_000)
    assert_envelope(reply, 400, "JSON_TOO_DEEP")


def test_json_nested_33_deep_is_400_and_32_deep_reaches_validation() -> None:
    def nested(levels: int) -> bytes:  # {"email": [[...]]} — the object itself is one level
        return b'{"email":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    assert_envelope(ApiClient().post(LOGIN, raw_body=nested(33)), 400, "JSON_TOO_DEEP")
    assert_envelope(ApiClient().post(LOGIN, raw_body=nested(32)), 400, "VALIDATION_FAILED")


def test_integer_of_5000_digits_in_a_body_is_400() -> None:
    body = b'{"email": "a@b.co", "password": ' + b"9" * 5000 + b"}"
    reply = ApiClient().post(LOGIN, raw_body=body)
    assert_envelope(reply, 400, "INTEGER_OUT_OF_RANGE")


def test_usage_timestamp_that_overflows_utc_is_a_per_event_rejection(world: World) -> None:
    future, past, ok = (f"evt-{uuid.uuid4().hex}" for _ in range(3))
    stamps = {
        future: "9999-12-31T23:59:59-05:00",  # overflows when converted to UTC
        past: "0001-01-01T00:00:00+05:00",  # underflows
        ok: datetime.now(UTC).isoformat(),
    }
    events = [
        {"eventId": i, "feature": world.key("calls"), "amount": 1, "timestamp": at}
        for i, at in stamps.items()
    ]
    reply = send(world.tenant, events)
    assert reply.status == 202, reply.body
    assert [(e["status"], e.get("reason")) for e in reply.body["events"]] == [
        ("rejected", "TIMESTAMP_IN_FUTURE"),
        ("rejected", "TIMESTAMP_TOO_OLD"),
        ("accepted", None),
    ]
    assert stored_item(world.tenant, future) is None and stored_item(world.tenant, ok) is not None


def test_consume_idempotency_key_of_255_emoji_is_400(world: World) -> None:
    reply = call(
        "entitlements_api",
        "POST",
        f"/api/v1/entitlements/{world.key('calls')}/consume",
        {"amount": 1, "idempotencyKey": "😀" * 255},
        principal=user({world.tenant: Role.DEVELOPER}),
        tenant=world.tenant,
    )
    assert_envelope(reply, 400, "VALIDATION_FAILED")
    assert reply.fields() == {"idempotencyKey"}


def test_tenant_metadata_of_500_kb_is_400_and_nothing_changes() -> None:
    owner = register()
    path = f"/api/v1/tenants/{owner.tenant_id}"
    reply = owner.patch(path, {"metadata": {"blob": "x" * 500_000}}, tenant=owner.tenant_id)
    assert_envelope(reply, 400, "VALIDATION_FAILED")
    assert reply.fields() == {"metadata"}
    assert owner.get(path, tenant=owner.tenant_id).body["metadata"] == {}


def test_body_over_one_megabyte_is_413() -> None:
    owner = register()
    body = json.dumps({"name": "x" * 1_100_000}).encode()
    reply = owner.post("/api/v1/tenants", raw_body=body)
    assert_envelope(reply, 413, "PAYLOAD_TOO_LARGE")


def test_path_id_over_255_bytes_is_400() -> None:
    owner = register()
    reply = owner.get("/api/v1/tenants/" + "é" * 128, tenant=owner.tenant_id)  # 256 bytes
    assert_envelope(reply, 400, "VALIDATION_FAILED")


def test_the_usage_batch_route_takes_its_1000_events_over_one_megabyte_but_not_over_5(world: World) -> None:
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "eventId": f"big-{uuid.uuid4().hex}",
            "feature": world.key("calls"),
            "amount": 1,
            "timestamp": now,
            "metadata": {"note": "x" * 1200},
        }
        for _ in range(1000)
    ]
    body = json.dumps({"events": events})
    assert 1_048_576 < len(body) < 5 * 1_048_576
    reply = send(world.tenant, events)
    assert reply.status == 202 and reply.body["accepted"] == 1000, reply.body
    too_big = call(
        "usage_api",
        "POST",
        "/api/v1/usage/events",
        raw_body=json.dumps({"events": events, "padding": "x" * (5 * 1_048_576)}),
        principal=api_key(world.tenant),
    )
    assert_envelope(too_big, 413, "PAYLOAD_TOO_LARGE")
