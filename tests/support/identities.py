"""Principals backed by real identity items, for tests that call functions in-process.

Writes are re-checked against the current state (the write guard, ADR 0031): a principal made up
in a test would be refused there. These helpers store what the principal claims — the user
profile, its memberships, the tenants (created ACTIVE when missing), the API key — through the
identity repository, and return the principal the authorizer would produce for it.
"""

from __future__ import annotations

import secrets
import uuid

from meterplex.identity import tokens
from meterplex.identity.models import ApiKey, Membership, Tenant, User
from meterplex.identity.repository import IdentityRepository
from meterplex.platform.auth import AuthType, Principal, Role, TenantStatus
from meterplex.platform.clock import system_clock
from meterplex.platform.errors import Conflict


def _repo() -> IdentityRepository:
    return IdentityRepository()


def _join(tenant_id: str, member: Membership) -> None:
    """Add `member` to the tenant, creating the tenant (ACTIVE) with it when it does not exist."""
    repo = _repo()
    now = system_clock.now()
    if repo.get_tenant(tenant_id) is None:
        slug = f"t-{tenant_id}"
        tenant = Tenant(
            id=tenant_id, name=f"Tenant {tenant_id[:8]}", slug=slug, created_at=now, updated_at=now
        )
        try:
            repo.create_tenant(tenant, member, [])
            return
        except Conflict:  # created meanwhile by another helper call
            pass
    repo.add_membership(member, now, [])


def stored_user(
    memberships: dict[str, Role] | None = None, *, platform_admin: bool = False, email: str | None = None
) -> Principal:
    """A user with these memberships, stored; the principal its access token would carry."""
    now = system_clock.now()
    user_id = str(uuid.uuid4())
    user = User(
        id=user_id,
        email=email or f"u-{user_id}@x.test",
        password_hash="not-a-login-account",
        first_name="Test",
        last_name="User",
        created_at=now,
        updated_at=now,
        is_platform_admin=platform_admin,
    )
    _repo().create_standalone_user(user, [])
    for tenant_id, role in (memberships or {}).items():
        _join(tenant_id, Membership(tenant_id, user_id, role))
    return Principal(
        AuthType.JWT,
        user_id=user_id,
        email=user.email,
        is_platform_admin=platform_admin,
        memberships=dict(memberships or {}),
        token_id=str(uuid.uuid4()),
        session_version=0,
        tenant_statuses={t: TenantStatus.ACTIVE for t in memberships or {}},
    )


def stored_api_key(tenant_id: str) -> Principal:
    """An API key of `tenant_id` (the tenant created, with an OWNER, when missing), stored; its
    principal."""
    if _repo().get_tenant(tenant_id) is None:
        stored_user({tenant_id: Role.OWNER})
    secret = tokens.new_api_key()
    key = ApiKey(
        id=str(uuid.uuid4()),
        tenant_id=tenant_id,
        name=f"test-{secrets.token_hex(3)}",
        prefix=tokens.api_key_display_prefix(secret),
        key_hash=tokens.sha256_hex(secret),
        created_at=system_clock.now(),
        created_by="test",
    )
    _repo().save_api_key(key, [])
    return Principal(
        AuthType.API_KEY,
        api_key_tenant_id=tenant_id,
        api_key_id=key.id,
        api_key_hash=key.key_hash,
        tenant_statuses={tenant_id: TenantStatus.ACTIVE},
    )
