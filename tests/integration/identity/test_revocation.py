"""Finding 7: revocation within a documented bound. The authorizer's result is cached per token
(30 s by default, as API Gateway does); writes and reads of keys re-check the current state in the
handler, so they see a revocation at once. Plain reads may lag by at most the cache TTL."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.integration.identity.conftest import PASSWORD, Account, register
from tests.support.api_client import ApiClient

AUTH, TENANTS, KEYS = "/api/v1/auth", "/api/v1/tenants", "/api/v1/api-keys"
CACHE_TTL_S = 30  # the default of MP_AUTHORIZER_CACHE_TTL


def cached_account() -> Account:
    """A registered account whose requests go through a gateway caching authorizer results."""
    return register(ApiClient(authorizer_cache_ttl_s=CACHE_TTL_S))


def new_slug(account: Account) -> dict[str, str]:
    return {"name": "Later", "slug": f"later-{account.tenant_id[-6:]}-{datetime.now(UTC).microsecond}"}


def test_after_revoke_all_a_cached_token_can_no_longer_write(moto_endpoint: str) -> None:
    account = cached_account()
    assert account.get(f"{AUTH}/me").status == 200  # the authorizer's answer is now cached
    # WHEN another session revokes every session of the user
    other = ApiClient().post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD}).body
    assert ApiClient().post(f"{AUTH}/revoke-all", token=other["accessToken"]).status == 200
    # THEN a write with the revoked (still cached) token is refused at once
    write = account.post(TENANTS, new_slug(account))
    assert (write.status, write.code) == (401, "SESSION_REVOKED")
    # and so is reading the tenant's keys
    keys = account.get(KEYS, tenant=account.tenant_id)
    assert (keys.status, keys.code) == (401, "SESSION_REVOKED")
    # a plain read may still be served from the cache: that is the documented bound (≤ TTL)
    assert account.get(f"{AUTH}/me").status == 200
    assert ApiClient().get(f"{AUTH}/me", token=account.access).status == 401  # uncached: refused


def test_after_a_password_change_other_cached_sessions_cannot_write(moto_endpoint: str) -> None:
    account = cached_account()
    assert account.get(f"{AUTH}/me").status == 200
    login = ApiClient().post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD}).body
    changed = ApiClient().post(
        f"{AUTH}/change-password",
        {"currentPassword": PASSWORD, "newPassword": "Changed-Pass9"},
        token=login["accessToken"],
    )
    assert changed.status == 200
    assert account.post(KEYS, {"name": "late"}, tenant=account.tenant_id).status == 401


def test_a_revoked_api_key_cannot_write_even_while_cached(account: Account) -> None:
    client = ApiClient(authorizer_cache_ttl_s=CACHE_TTL_S)
    created = account.post(KEYS, {"name": "ingest"}, tenant=account.tenant_id).body
    key = created["key"]
    assert client.get(f"{TENANTS}/me/context", token=key).status == 200  # cached now
    assert account.delete(f"{KEYS}/{created['id']}", tenant=account.tenant_id).status == 200
    now = datetime.now(UTC).isoformat()
    event = {"eventId": "e-1", "feature": "api_calls", "amount": 1, "timestamp": now}
    ingest = client.post("/api/v1/usage/events", {"events": [event]}, token=key)
    assert (ingest.status, ingest.code) == (401, "INVALID_API_KEY")


def test_a_tenant_created_after_the_token_was_cached_is_visible_at_once(moto_endpoint: str) -> None:
    # GIVEN a token whose authorizer answer (with its memberships) is cached
    account = cached_account()
    assert account.get(f"{AUTH}/me").status == 200
    # WHEN the caller creates a tenant (a membership the cached answer does not know)
    created = account.post(TENANTS, new_slug(account))
    assert created.status == 201
    tenant_id = created.body["id"]
    # THEN reading it — by id, by slug, or acting in it with x-tenant-id — works at once: the
    # negative answer of the cache is checked against the current state before a 404/403
    assert account.get(f"{TENANTS}/{tenant_id}").status == 200
    assert account.get(f"{TENANTS}/slug/{created.body['slug']}").status == 200
    context = account.get(f"{TENANTS}/me/context", tenant=tenant_id)
    assert (context.status, context.body["role"]) == (200, "OWNER")
    # and a tenant the caller does not belong to still answers 404
    assert account.get(f"{TENANTS}/{account.tenant_id[:-4]}beef").status == 404
