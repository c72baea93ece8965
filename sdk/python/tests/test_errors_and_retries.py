"""Typed errors from the envelope; retries with back-off, Retry-After and idempotency rules."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx
from conftest import BASE, envelope, make_client

from meterplex_client import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

CHECK = f"{BASE}/api/v1/entitlements/api_calls/check"
CONSUME = f"{BASE}/api/v1/entitlements/api_calls/consume"
ALLOWED = {"allowed": True, "feature": "api_calls", "type": "BOOLEAN"}


@respx.mock
def test_envelope_quota_exceeded_raises_typed_error_with_code_and_correlation(tmp_path: Path) -> None:
    respx.post(CONSUME).respond(403, json=envelope(403, "QUOTA_EXCEEDED", "Quota exceeded"))
    mp, _ = make_client(tmp_path)
    with pytest.raises(QuotaExceededError) as raised:
        mp.entitlements.consume("api_calls", 5)
    assert raised.value.status_code == 403
    assert raised.value.code == "QUOTA_EXCEEDED"
    assert raised.value.correlation_id == "corr-123"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "VALIDATION_FAILED", BadRequestError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (404, "FEATURE_NOT_IN_PLAN", NotFoundError),
        (409, "IDEMPOTENCY_KEY_REUSED", ConflictError),
    ],
)
@respx.mock
def test_envelope_status_maps_to_its_error_family(tmp_path: Path, status: int, code: str, kind: type) -> None:
    details = [{"field": "amount", "message": "must be ≥ 1"}]
    respx.post(CONSUME).respond(status, json=envelope(status, code, details=details))
    mp, _ = make_client(tmp_path)
    with pytest.raises(kind) as raised:
        mp.entitlements.consume("api_calls")
    assert raised.value.code == code
    assert raised.value.details[0].field == "amount"


@respx.mock
def test_get_retried_on_503_then_succeeds_with_backoff(tmp_path: Path) -> None:
    route = respx.get(CHECK).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json=ALLOWED)]
    )
    mp, sleeps = make_client(tmp_path)
    assert mp.entitlements.check("api_calls").allowed
    assert route.call_count == 3
    assert sleeps == [0.5, 1.0]  # base·2^attempt (jitter pinned to its maximum)


@respx.mock
def test_full_jitter_stays_below_the_exponential_cap() -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=4.0)
    assert all(0 <= policy.delay(n) <= min(4.0, 0.5 * 2**n) for n in range(10) for _ in range(20))


@respx.mock
def test_retry_after_is_honoured_on_429(tmp_path: Path) -> None:
    route = respx.get(CHECK).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json=envelope(429, "RATE_LIMITED")),
            httpx.Response(200, json=ALLOWED),
        ]
    )
    mp, sleeps = make_client(tmp_path)
    mp.entitlements.check("api_calls")
    assert route.call_count == 2
    assert sleeps == [7.0]


@respx.mock
def test_429_after_the_last_retry_raises_rate_limit_error_with_retry_after(tmp_path: Path) -> None:
    respx.get(CHECK).respond(429, headers={"Retry-After": "3"}, json=envelope(429, "RATE_LIMITED"))
    mp, sleeps = make_client(tmp_path, max_retries=2)
    with pytest.raises(RateLimitError) as raised:
        mp.entitlements.check("api_calls")
    assert raised.value.retry_after == 3.0
    assert sleeps == [3.0, 3.0]


@respx.mock
def test_connection_errors_retried_then_raised_as_api_connection_error(tmp_path: Path) -> None:
    route = respx.get(CHECK).mock(side_effect=httpx.ConnectError("refused"))
    mp, sleeps = make_client(tmp_path, max_retries=3)
    with pytest.raises(APIConnectionError):
        mp.entitlements.check("api_calls")
    assert route.call_count == 4
    assert len(sleeps) == 3


@respx.mock
def test_non_idempotent_post_not_retried_on_500_or_dropped_connection(tmp_path: Path) -> None:
    created = respx.post(f"{BASE}/api/v1/api-keys").mock(side_effect=[httpx.Response(500)])
    tenants = respx.post(f"{BASE}/api/v1/tenants").mock(side_effect=httpx.ReadError("dropped"))
    mp, _ = make_client(tmp_path)
    with pytest.raises(ServerError):
        mp.api_keys.create("ci")
    with pytest.raises(APIConnectionError):
        mp.tenants.create("Acme", "acme")
    assert created.call_count == 1 and tenants.call_count == 1


@respx.mock
def test_consume_is_retried_under_one_generated_idempotency_key(tmp_path: Path) -> None:
    answer = {"allowed": True, "feature": "api_calls", "consumed": 2, "used": 2, "remaining": 8, "overage": 0}
    route = respx.post(CONSUME).mock(
        side_effect=[httpx.ReadError("dropped"), httpx.Response(200, json=answer)]
    )
    mp, _ = make_client(tmp_path)
    result = mp.entitlements.consume("api_calls", 2)
    keys = {c.request.content for c in route.calls}
    assert route.call_count == 2 and len(keys) == 1  # the same body, key included, both times
    assert result.idempotency_key is not None and result.idempotency_key.encode() in keys.pop()


@respx.mock
def test_expired_access_token_is_refreshed_once_and_the_request_replayed(tmp_path: Path) -> None:
    saved: list[tuple[str, str]] = []
    me = {
        "id": "u1",
        "email": "a@b.co",
        "firstName": "A",
        "lastName": "B",
        "isActive": True,
        "isPlatformAdmin": False,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    route = respx.get(f"{BASE}/api/v1/auth/me").mock(
        side_effect=[httpx.Response(401, json=envelope(401, "TOKEN_EXPIRED")), httpx.Response(200, json=me)]
    )
    refresh = respx.post(f"{BASE}/api/v1/auth/refresh").respond(
        200, json={"accessToken": "new-access", "refreshToken": "new-refresh"}
    )
    from meterplex_client import Meterplex

    mp = Meterplex(
        base_url=BASE,
        access_token="old",
        refresh_token="r1",
        tenant_id="t1",
        on_tokens=lambda a, r: saved.append((a, r)),
    )
    assert mp.auth.me().id == "u1"
    assert refresh.call_count == 1 and route.call_count == 2
    assert route.calls[1].request.headers["authorization"] == "Bearer new-access"
    assert route.calls[1].request.headers["x-tenant-id"] == "t1"
    assert saved == [("new-access", "new-refresh")]
