"""/api/v1/admin/clock* through the local gateway (real authorizer, real admin_api handler), with
test schedules served by the local Lambda Invoke API."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from infra.local.functions import FunctionRunner
from meterplex.identity.bootstrap import ensure_platform_admin
from meterplex.platform import env
from meterplex.platform.clock import business_clock, parse_iso
from meterplex.platform.clock_store import ClockStore
from meterplex.platform.settings import load
from meterplex.testclock.routes import clock_service
from meterplex.testclock.targets import ScheduledTarget, dump_targets
from tests.support.api_client import ApiClient, Reply

CLOCK = "/api/v1/admin/clock"
PASSWORD = "Admin12345!"
ARN = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/meterplex-test-daily"
_ids = itertools.count()


def fresh_settings() -> None:
    load.cache_clear()
    clock_service.cache_clear()


@pytest.fixture
def schedules(
    clock_store: ClockStore,
    fixture_lambda: tuple[str, FunctionRunner],
    probe: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    """admin_api configured (MP_SCHEDULES) with one daily schedule targeting `clock_probe`."""
    monkeypatch.setenv(
        env.SCHEDULES, dump_targets([ScheduledTarget("daily", "clock_probe", "cron(0 1 * * ? *)", ARN)])
    )
    fresh_settings()
    yield probe
    fresh_settings()


def login(client: ApiClient, email: str, password: str) -> str:
    reply = client.post("/api/v1/auth/login", {"email": email, "password": password})
    assert reply.status == 200, reply.body
    return str(reply.body["accessToken"])


@pytest.fixture
def admin(moto_endpoint: str) -> tuple[ApiClient, str]:
    email = f"clock-admin-{next(_ids)}-{id(_ids) % 10_000}@example.com"
    ensure_platform_admin(email, PASSWORD)
    client = ApiClient()
    return client, login(client, email, PASSWORD)


@pytest.fixture
def member(moto_endpoint: str) -> tuple[ApiClient, str]:
    client = ApiClient()
    name = f"clock-member-{next(_ids)}-{id(_ids) % 10_000}"
    body = {
        "email": f"{name}@example.com",
        "password": "DevPass123",
        "firstName": "Not",
        "lastName": "Admin",
        "tenantName": name,
        "tenantSlug": name,
    }
    reply = client.post("/api/v1/auth/register", body)
    assert reply.status == 201, reply.body
    return client, str(reply.body["accessToken"])


def call(who: tuple[ApiClient, str], method: str, path: str, body: Any = None) -> Reply:
    client, token = who
    return client.request(method, path, body, token=token)


def next_one_am(after: datetime) -> datetime:
    candidate = after.replace(hour=1, minute=0, second=0, microsecond=0)
    return candidate if candidate > after else candidate + timedelta(days=1)


def test_show_advance_and_reset_over_the_api(admin: tuple[ApiClient, str], schedules: ModuleType) -> None:
    shown = call(admin, "GET", CLOCK)
    assert shown.status == 200 and shown.body["frozen"] is False
    start = parse_iso(shown.body["now"])
    assert abs(start - datetime.now(UTC)) < timedelta(seconds=10)

    advanced = call(admin, "POST", f"{CLOCK}/advance", {"days": 2})

    assert advanced.status == 200, advanced.body
    assert advanced.body["frozen"] is True and advanced.body["complete"] is True
    now = parse_iso(advanced.body["now"])
    assert timedelta(days=2) - timedelta(seconds=10) < now - start <= timedelta(days=2, seconds=10)
    first = next_one_am(start)
    expected = [first + timedelta(days=n) for n in range(3) if first + timedelta(days=n) <= now]
    assert [parse_iso(f["at"]) for f in advanced.body["fired"]] == expected
    assert {f["schedule"] for f in advanced.body["fired"]} == {"daily"}
    # the scheduled function ran at each fire time, reading it from the business clock
    assert [parse_iso(c["time"]) for c in schedules.CALLS] == expected
    assert [parse_iso(c["now"]) for c in schedules.CALLS] == expected
    assert call(admin, "GET", CLOCK).body == {"now": advanced.body["now"], "frozen": True}

    reset = call(admin, "POST", f"{CLOCK}/reset")
    assert reset.status == 200 and reset.body["frozen"] is False
    assert abs(parse_iso(call(admin, "GET", CLOCK).body["now"]) - datetime.now(UTC)) < timedelta(seconds=10)


def test_advance_to_an_instant_and_running_on_from_it(
    admin: tuple[ApiClient, str], schedules: ModuleType
) -> None:
    target = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    reply = call(admin, "POST", f"{CLOCK}/advance", {"to": target.isoformat(), "freeze": False})
    assert reply.status == 200
    assert parse_iso(reply.body["target"]) == target and reply.body["frozen"] is False
    later = parse_iso(call(admin, "GET", CLOCK).body["now"])
    assert target <= later < target + timedelta(seconds=10)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"freeze": True},
        {"to": "2030-01-01T00:00:00Z", "days": 1},
        {"days": 0},
        {"days": 0, "hours": 0},
        {"days": -1},
        {"hours": 87_841},
        {"to": "not a date"},
        {"days": "many"},
        {"days": 1, "unknown": True},
    ],
)
def test_bad_advance_input_is_400_in_the_envelope(
    admin: tuple[ApiClient, str], schedules: ModuleType, body: dict[str, Any]
) -> None:
    reply = call(admin, "POST", f"{CLOCK}/advance", body)
    assert reply.status == 400, reply.body
    assert reply.code == "VALIDATION_FAILED"
    assert reply.body["path"] == f"{CLOCK}/advance" and reply.body["correlationId"]
    assert schedules.CALLS == []


def test_advance_backwards_is_400_and_moves_nothing(
    admin: tuple[ApiClient, str], schedules: ModuleType
) -> None:
    call(admin, "POST", f"{CLOCK}/advance", {"hours": 1})
    reply = call(admin, "POST", f"{CLOCK}/advance", {"to": datetime.now(UTC).isoformat()})
    assert reply.status == 400 and reply.code == "CLOCK_NOT_FORWARD"
    assert call(admin, "GET", CLOCK).body["frozen"] is True


def test_a_long_advance_answers_202_within_its_budget_and_repeating_it_finishes(
    admin: tuple[ApiClient, str], schedules: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env.CLOCK_ADVANCE_BUDGET_S, "0.001")
    fresh_settings()
    first = call(admin, "POST", f"{CLOCK}/advance", {"days": 3})
    assert first.status == 202 and first.body["complete"] is False
    assert len(first.body["fired"]) == 1 and first.body["now"] == first.body["fired"][0]["at"]
    replies = [first]
    while replies[-1].status == 202:
        replies.append(call(admin, "POST", f"{CLOCK}/advance", {"to": first.body["target"]}))
        assert len(replies) < 10
    assert replies[-1].status == 200 and replies[-1].body["now"] == first.body["target"]
    fired = [f["at"] for reply in replies for f in reply.body["fired"]]
    assert fired == sorted(set(fired)) and len(fired) == len(schedules.CALLS) >= 2


def test_a_failing_schedule_is_503_naming_it(admin: tuple[ApiClient, str], schedules: ModuleType) -> None:
    start = parse_iso(call(admin, "GET", CLOCK).body["now"])
    schedules.FAIL_AT.add(next_one_am(start).strftime("%Y-%m-%dT%H:%M:%SZ"))
    reply = call(admin, "POST", f"{CLOCK}/advance", {"days": 2})
    assert reply.status == 503 and reply.code == "SCHEDULE_FAILED"
    assert "schedule daily" in reply.body["message"]
    assert parse_iso(call(admin, "GET", CLOCK).body["now"]) == next_one_am(start)  # waits there


@pytest.mark.parametrize(
    ("method", "path"), [("GET", CLOCK), ("POST", f"{CLOCK}/advance"), ("POST", f"{CLOCK}/reset")]
)
def test_a_non_admin_is_403_and_nobody_is_401(
    member: tuple[ApiClient, str], schedules: ModuleType, method: str, path: str
) -> None:
    reply = call(member, method, path, {"days": 1} if method == "POST" else None)
    assert reply.status == 403 and reply.code == "PLATFORM_ADMIN_REQUIRED"
    assert ApiClient().request(method, path, {"days": 1}).status == 401
    assert schedules.CALLS == []


@pytest.mark.parametrize(
    ("method", "path"), [("GET", CLOCK), ("POST", f"{CLOCK}/advance"), ("POST", f"{CLOCK}/reset")]
)
def test_the_routes_are_404_where_the_test_clock_is_off(
    admin: tuple[ApiClient, str],
    member: tuple[ApiClient, str],
    schedules: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
) -> None:
    # GIVEN a stage with the test clock off (the setting is resolved again, as at a cold start)
    monkeypatch.setenv(env.TEST_CLOCK, "false")
    monkeypatch.setattr(business_clock, "_enabled", None)
    fresh_settings()
    try:
        for who in (admin, member):
            reply = call(who, method, path, {"days": 1} if method == "POST" else None)
            assert reply.status == 404 and reply.code == "ROUTE_NOT_FOUND"
            assert reply.body["message"] == f"No route for {method} {path}"
    finally:
        fresh_settings()
    assert schedules.CALLS == []


def test_the_clock_routes_are_in_the_openapi_document(moto_endpoint: str) -> None:
    paths = ApiClient().get("/api/openapi.json").body["paths"]
    assert set(paths[f"{CLOCK}/advance"]["post"]["responses"]) >= {"200", "202"}
    assert "get" in paths[CLOCK] and "post" in paths[f"{CLOCK}/reset"]
