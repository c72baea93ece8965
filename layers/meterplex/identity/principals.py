"""Who a caller is, from the current state: the authorizer's decision and the write guard's re-check.

* `authenticate(token)` — the authorizer (its result is cached per token by API Gateway):
  an access JWT → one Query (profile + memberships) + one BatchGetItem (the member tenants'
  statuses); an API key → GetItem of the key, then GetItem of its tenant (the key names its tenant,
  so the two cannot be one BatchGetItem; ADR 0032).
* `recheck(principal, tenant_id)` — before a write (and a read of keys), the cached principal is
  checked again: session version, account and membership active, key not revoked, tenant status.
  A JWT acting in a tenant or an API key costs ONE strongly consistent BatchGetItem; a JWT with no
  tenant the Query + BatchGetItem above (ADR 0031).

Only active memberships grant anything; SUSPENDED/CANCELLED tenants stay readable for their members
(their statuses travel in the principal, and writes are refused by `platform.auth.ensure_writable`)
while their API keys are refused outright.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from meterplex.identity import tokens
from meterplex.identity.models import ApiKey, Membership, Tenant, User
from meterplex.identity.repository import IdentityRepository
from meterplex.identity.signing_key import jwt_signing_key
from meterplex.platform.auth import API_KEY_PREFIX, AuthType, Principal, TenantStatus
from meterplex.platform.clock import Clock
from meterplex.platform.errors import Unauthenticated


def session_revoked() -> Unauthenticated:
    return Unauthenticated("Session revoked", code="SESSION_REVOKED")


def invalid_api_key() -> Unauthenticated:
    return Unauthenticated("Invalid, revoked or expired API key", code="INVALID_API_KEY")


def authenticate(token: str, repo: IdentityRepository, clock: Clock) -> Principal:
    """Who `token` proves the caller to be; `Unauthenticated` if it proves nothing."""
    now = clock.now()
    if token.startswith(API_KEY_PREFIX):
        key_hash = tokens.sha256_hex(token)
        key = repo.api_key_by_hash(key_hash)
        tenant = repo.get_tenant(key.tenant_id) if key is not None and key.usable_at(now) else None
        return _api_key_principal(key, tenant, clock)
    claims = tokens.verify_access_token(token, signing_key=jwt_signing_key(), now=now)
    user, memberships = repo.user_with_memberships(claims.user_id)
    _ensure_session(user, claims.session_version)
    assert user is not None
    active = [m for m in memberships if m.is_active]
    tenants = repo.tenants([m.tenant_id for m in active])
    return _jwt_principal(user, active, tenants.values(), token_id=claims.token_id)


def recheck(
    principal: Principal,
    tenant_id: str | None,
    repo: IdentityRepository,
    clock: Clock,
    *,
    writing: bool = True,
) -> Principal:
    """`principal` as the current state has it now, for a request acting in `tenant_id` (if any);
    `writing`: the request writes, so `tenant_access` will refuse a tenant that is not ACTIVE."""
    if principal.auth_type is AuthType.API_KEY:
        if not principal.api_key_hash or not principal.api_key_tenant_id:
            raise invalid_api_key()
        key, tenant = repo.api_key_with_tenant(principal.api_key_hash, principal.api_key_tenant_id)
        if key is not None and not key.usable_at(clock.now()):
            key = None
        return replace(_api_key_principal(key, tenant, clock), rechecked=True, writing=writing)
    if principal.user_id is None:
        raise session_revoked()
    if tenant_id:
        user, membership, tenant = repo.user_in_tenant(principal.user_id, tenant_id)
        _ensure_session(user, principal.session_version)
        assert user is not None
        members = [membership] if membership is not None and membership.is_active else []
        tenants: Iterable[Tenant] = [tenant] if tenant is not None else []
    else:
        user, all_memberships = repo.user_with_memberships(principal.user_id, consistent=True)
        _ensure_session(user, principal.session_version)
        assert user is not None
        members = [m for m in all_memberships if m.is_active]
        tenants = repo.tenants([m.tenant_id for m in members], consistent=True).values()
    fresh = _jwt_principal(user, members, tenants, token_id=principal.token_id)
    return replace(fresh, rechecked=True, writing=writing)


def _ensure_session(user: User | None, session_version: int | None) -> None:
    if user is None or not user.is_active or user.session_version != session_version:
        raise session_revoked()


def _api_key_principal(key: ApiKey | None, tenant: Tenant | None, clock: Clock) -> Principal:
    if key is None or not key.usable_at(clock.now()) or tenant is None:
        raise invalid_api_key()
    if tenant.status is not TenantStatus.ACTIVE:  # SPEC §2: keys of a SUSPENDED/CANCELLED tenant → 401
        raise invalid_api_key()
    return Principal(
        AuthType.API_KEY,
        api_key_tenant_id=key.tenant_id,
        api_key_id=key.id,
        api_key_hash=key.key_hash,
        tenant_statuses={tenant.id: tenant.status},
    )


def _jwt_principal(
    user: User, memberships: Iterable[Membership], tenants: Iterable[Tenant], *, token_id: str | None
) -> Principal:
    return Principal(
        AuthType.JWT,
        user_id=user.id,
        email=user.email,
        is_platform_admin=user.is_platform_admin,
        memberships={m.tenant_id: m.role for m in memberships},
        token_id=token_id,
        session_version=user.session_version,
        tenant_statuses={t.id: t.status for t in tenants},
    )
