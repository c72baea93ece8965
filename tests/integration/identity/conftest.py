"""Identity test helpers: register people and tenants through the real API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.api_client import ApiClient

PASSWORD = "DevPass123"
_counter = itertools.count()


@dataclass
class Account:
    """A registered user, their tenant and their tokens."""

    client: ApiClient
    email: str
    user_id: str
    tenant_id: str
    access: str
    refresh: str

    def get(self, path: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.get(path, token=self.access, **kw)

    def post(self, path: str, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.post(path, body, token=self.access, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.patch(path, body, token=self.access, **kw)

    def delete(self, path: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.delete(path, token=self.access, **kw)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}-{id(_counter) % 10_000}"


def registration(**overrides: Any) -> dict[str, Any]:
    name = unique("u")
    body = {
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "tenantName": f"Tenant {name}",
        "tenantSlug": f"t-{name}",
    }
    return body | overrides


def register(client: ApiClient | None = None, **overrides: Any) -> Account:
    client = client or ApiClient()
    body = registration(**overrides)
    reply = client.post("/api/v1/auth/register", body)
    assert reply.status == 201, reply.body
    return Account(
        client,
        body["email"],
        reply.body["user"]["id"],
        reply.body["tenant"]["id"],
        reply.body["accessToken"],
        reply.body["refreshToken"],
    )


@pytest.fixture
def account(moto_endpoint: str) -> Account:
    return register()


@pytest.fixture
def other_account(moto_endpoint: str) -> Account:
    return register()


@pytest.fixture
def platform_admin(moto_endpoint: str) -> Account:
    """A platform admin created by the bootstrap, logged in (it belongs to no tenant)."""
    from meterplex.identity.bootstrap import ensure_platform_admin

    email = f"{unique('admin')}@example.com"
    ensure_platform_admin(email, PASSWORD)
    client = ApiClient()
    login = client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).body
    return Account(client, email, login["user"]["id"], "", login["accessToken"], login["refreshToken"])


@pytest.fixture
def one_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Security time (`system_clock`: rate limits, token expiry) stands still for the test, so
    every attempt lands in one fixed rate-limit window. Otherwise a test that crosses a window's
    edge (the 15-minute lockout window turns at :00, :15, :30, :45) sees its counts reset halfway
    and fails by the clock alone. Forked environments inherit the frozen clock."""
    from datetime import UTC, datetime

    from meterplex.platform.clock import SystemClock

    frozen = datetime.now(UTC)
    monkeypatch.setattr(SystemClock, "now", lambda self: frozen)
