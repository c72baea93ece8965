"""The entitlement cache (TTL, per feature, QUOTA state, consume always to the server) and the
fail-open / fail-closed settings (ADR 0057)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from conftest import BASE, make_client

from meterplex_client import APIConnectionError, AsyncMeterplex, EntitlementCache

SSO = f"{BASE}/api/v1/entitlements/sso/check"
CALLS = f"{BASE}/api/v1/entitlements/api_calls/check"
CONSUME = f"{BASE}/api/v1/entitlements/api_calls/consume"
QUOTA = {
    "allowed": True,
    "feature": "api_calls",
    "type": "QUOTA",
    "limit": 10,
    "used": 7,
    "remaining": 3,
    "resetAt": "2027-01-01T00:00:00Z",
    "limitBehavior": "HARD",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@respx.mock
def test_boolean_answer_served_from_cache_until_its_ttl(tmp_path: Path) -> None:
    route = respx.get(SSO).respond(200, json={"allowed": True, "feature": "sso", "type": "BOOLEAN"})
    clock = FakeClock()
    mp, _ = make_client(tmp_path, entitlement_cache=EntitlementCache(ttl_s=30, clock=clock))
    first, second = mp.entitlements.check("sso"), mp.entitlements.check("sso")
    clock.now += 30  # the TTL has passed: never served stale
    third = mp.entitlements.check("sso")
    assert route.call_count == 2
    assert (first.cached, second.cached, third.cached) == (False, True, False)


@respx.mock
def test_cache_is_per_feature(tmp_path: Path) -> None:
    sso = respx.get(SSO).respond(200, json={"allowed": True, "feature": "sso", "type": "BOOLEAN"})
    calls = respx.get(CALLS).respond(200, json=QUOTA)
    cache = EntitlementCache(features={"sso": 60}, clock=FakeClock())  # api_calls: not cached
    mp, _ = make_client(tmp_path, entitlement_cache=cache)
    for _ in range(3):
        mp.entitlements.check("sso")
        mp.entitlements.check("api_calls")
    assert sso.call_count == 1 and calls.call_count == 3


@respx.mock
def test_cached_quota_state_answers_any_amount_with_the_server_rule(tmp_path: Path) -> None:
    route = respx.get(CALLS).respond(200, json=QUOTA)
    mp, _ = make_client(tmp_path, entitlement_cache=EntitlementCache(ttl_s=5, clock=FakeClock()))
    mp.entitlements.check("api_calls")
    fits, too_many = mp.entitlements.check("api_calls", 3), mp.entitlements.check("api_calls", 4)
    assert route.call_count == 1
    assert fits.allowed and fits.cached
    assert not too_many.allowed  # 7 + 4 > 10 (HARD)


@respx.mock
def test_consume_always_reaches_the_server_and_refreshes_the_cached_state(tmp_path: Path) -> None:
    respx.get(CALLS).respond(200, json=QUOTA)
    answer = {
        "allowed": True,
        "feature": "api_calls",
        "consumed": 3,
        "used": 10,
        "remaining": 0,
        "overage": 0,
    }
    consume = respx.post(CONSUME).respond(200, json=answer)
    mp, _ = make_client(tmp_path, entitlement_cache=EntitlementCache(ttl_s=60, clock=FakeClock()))
    mp.entitlements.check("api_calls")
    mp.entitlements.consume("api_calls", 3)
    mp.entitlements.consume("api_calls", 3)
    after = mp.entitlements.check("api_calls")
    assert consume.call_count == 2
    assert after.cached and after.used == 10 and not after.allowed


@pytest.mark.parametrize(("mode", "allowed"), [("open", True), ("closed", False)])
@respx.mock
def test_unreachable_api_answers_by_fail_mode(tmp_path: Path, mode: str, allowed: bool) -> None:
    respx.get(CALLS).mock(side_effect=httpx.ConnectError("refused"))
    respx.post(CONSUME).mock(side_effect=httpx.ConnectError("refused"))
    mp, _ = make_client(tmp_path, fail_mode=mode, max_retries=1)
    check = mp.entitlements.check("api_calls")
    consume = mp.entitlements.consume("api_calls", 2, idempotency_key="req-42")
    assert (check.allowed, check.degraded, check.reason) == (allowed, True, "API_UNREACHABLE")
    assert (consume.allowed, consume.degraded, consume.consumed) == (allowed, True, 0)
    assert consume.idempotency_key == "req-42"  # replay it later to count exactly once


@respx.mock
def test_unreachable_api_raises_by_default(tmp_path: Path) -> None:
    respx.get(CALLS).mock(side_effect=httpx.ConnectError("refused"))
    mp, _ = make_client(tmp_path, max_retries=0)
    with pytest.raises(APIConnectionError):
        mp.entitlements.check("api_calls")


@respx.mock
def test_fail_mode_never_replaces_an_answer_of_the_server(tmp_path: Path) -> None:
    respx.get(CALLS).respond(401, json={"code": "UNAUTHORIZED", "message": "bad key"})
    mp, _ = make_client(tmp_path, fail_mode="open")
    with pytest.raises(Exception, match="UNAUTHORIZED"):
        mp.entitlements.check("api_calls")


@pytest.mark.anyio
@respx.mock
async def test_async_client_checks_and_caches(tmp_path: Path) -> None:
    route = respx.get(SSO).respond(200, json={"allowed": False, "feature": "sso", "type": "BOOLEAN"})
    async with AsyncMeterplex(
        api_key="mp_live_x", base_url=BASE, entitlement_cache=EntitlementCache(ttl_s=60)
    ) as mp:
        first = await mp.entitlements.check("sso")
        second = await mp.entitlements.check("sso")
    assert not first.allowed and second.cached and route.call_count == 1
