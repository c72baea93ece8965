"""Identity domain types: users, tenants, memberships, invitations, API keys (no AWS imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from meterplex.platform.auth import Role, TenantStatus

__all__ = [
    "ApiKey",
    "Collection",
    "Invitation",
    "InvitationStatus",
    "Membership",
    "RefreshToken",
    "Role",
    "Tenant",
    "TenantStatus",
    "TokenPair",
    "User",
]


@dataclass
class User:
    id: str
    email: str
    password_hash: str
    first_name: str
    last_name: str
    created_at: datetime
    updated_at: datetime
    is_active: bool = True
    is_platform_admin: bool = False
    session_version: int = 0  # bumped to revoke every session (refresh and access tokens)


class Collection(StrEnum):
    """How the tenant's invoices are paid (SPEC §8.2): charged by the payment provider when
    finalized, or settled by hand (`mark-paid`) only."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


@dataclass
class Tenant:
    id: str
    name: str
    slug: str
    created_at: datetime
    updated_at: datetime
    status: TenantStatus = TenantStatus.ACTIVE
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = 0  # bumped by every update; updates are conditional on the version they read
    collection: Collection = Collection.AUTOMATIC


@dataclass(frozen=True)
class Membership:
    tenant_id: str
    user_id: str
    role: Role
    tenant_name: str = ""
    tenant_slug: str = ""
    is_active: bool = True  # per tenant: an inactive membership grants nothing in that tenant


class InvitationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


@dataclass(frozen=True)
class Invitation:
    """An existing account invited into a tenant (SPEC §2): it joins only if it accepts, while the
    invitation is pending and unexpired. One per (tenant, account): inviting again replaces it."""

    id: str
    tenant_id: str
    user_id: str
    email: str
    role: Role
    invited_by: str  # the actor ("user:<id>")
    created_at: datetime
    expires_at: datetime
    status: InvitationStatus = InvitationStatus.PENDING

    def open_at(self, now: datetime) -> bool:
        return self.status is InvitationStatus.PENDING and now < self.expires_at


@dataclass
class ApiKey:
    id: str
    tenant_id: str
    name: str
    prefix: str  # the first characters of the key, for people to recognise it
    key_hash: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """Not revoked, not expired (its tenant's status is checked separately: ADR 0032)."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class RefreshToken:
    token_hash: str
    user_id: str
    session_version: int
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
