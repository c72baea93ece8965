"""The principal a request carries: what the authorizer proved, as handlers read it.

The authorizer authenticates (token or API key) and puts a flat string context on the request
(`requestContext.authorizer`); handlers authorize with `tenant_access` / `require_platform_admin`.
The context's keys are constants here so the authorizer and the handlers spell them once.

API Gateway caches that context per token for a while (`MP_AUTHORIZER_CACHE_TTL`), so for writes
identity's write guard (`meterplex.identity.access`) replaces it with one re-checked against the
current state before the handler runs (`Principal.rechecked`, `Principal.writing`; ADR 0031).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meterplex.platform.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

TENANT_HEADER = "x-tenant-id"
API_KEY_PREFIX = "mp_live_"


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    DEVELOPER = "DEVELOPER"
    BILLING = "BILLING"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


class TenantStatus(StrEnum):
    """SUSPENDED and CANCELLED tenants are read-only for their members; their API keys are refused."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    CANCELLED = "CANCELLED"


class AuthType(StrEnum):
    JWT = "jwt"
    API_KEY = "api_key"


class Ctx:
    """Keys of the authorizer context (values are strings: API Gateway allows nothing richer)."""

    AUTH_TYPE = "authType"
    USER_ID = "userId"
    EMAIL = "email"
    PLATFORM_ADMIN = "isPlatformAdmin"
    MEMBERSHIPS = "memberships"
    TENANT_ID = "tenantId"
    API_KEY_ID = "apiKeyId"
    API_KEY_HASH = "apiKeyHash"  # the stored SHA-256 (never the key): handlers re-read the key by it
    TOKEN_ID = "jti"
    SESSION_VERSION = "sessionVersion"
    TENANT_STATUSES = "tenantStatuses"  # JSON {tenantId: status} of the tenants checked
    RECHECKED = "rechecked"  # re-read from the current state for this request (not the cached one)
    WRITING = "writing"  # the request is a write: the tenant it acts in must be ACTIVE


@dataclass(frozen=True)
class Principal:
    auth_type: AuthType
    user_id: str | None = None
    email: str | None = None
    is_platform_admin: bool = False
    memberships: Mapping[str, Role] = field(default_factory=dict)
    api_key_tenant_id: str | None = None
    api_key_id: str | None = None
    api_key_hash: str | None = None
    token_id: str | None = None
    session_version: int | None = None
    # Status of the tenants this principal was checked against (its memberships', its key's).
    tenant_statuses: Mapping[str, TenantStatus] = field(default_factory=dict)
    rechecked: bool = False  # re-read from the current state for this request (the write guard)
    writing: bool = False  # set by the write guard on writes: tenant_access refuses inactive tenants

    def to_context(self) -> dict[str, str]:
        context = {
            Ctx.AUTH_TYPE: self.auth_type.value,
            Ctx.TENANT_STATUSES: json.dumps({t: s.value for t, s in self.tenant_statuses.items()}),
        }
        context |= {Ctx.RECHECKED: str(self.rechecked).lower(), Ctx.WRITING: str(self.writing).lower()}
        if self.auth_type is AuthType.JWT:
            context |= {
                Ctx.USER_ID: self.user_id or "",
                Ctx.EMAIL: self.email or "",
                Ctx.PLATFORM_ADMIN: "true" if self.is_platform_admin else "false",
                Ctx.MEMBERSHIPS: json.dumps({t: r.value for t, r in self.memberships.items()}),
                Ctx.TOKEN_ID: self.token_id or "",
                Ctx.SESSION_VERSION: "" if self.session_version is None else str(self.session_version),
            }
        else:
            context |= {
                Ctx.TENANT_ID: self.api_key_tenant_id or "",
                Ctx.API_KEY_ID: self.api_key_id or "",
                Ctx.API_KEY_HASH: self.api_key_hash or "",
            }
        return context

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Principal:
        if not context or Ctx.AUTH_TYPE not in context:
            raise Unauthenticated("Authentication required")
        auth_type = AuthType(context[Ctx.AUTH_TYPE])
        raw_statuses = json.loads(context.get(Ctx.TENANT_STATUSES) or "{}")
        statuses = {t: TenantStatus(s) for t, s in raw_statuses.items()}
        rechecked = str(context.get(Ctx.RECHECKED)).lower() == "true"
        writing = str(context.get(Ctx.WRITING)).lower() == "true"
        if auth_type is AuthType.API_KEY:
            return cls(
                auth_type,
                api_key_tenant_id=context.get(Ctx.TENANT_ID) or None,
                api_key_id=context.get(Ctx.API_KEY_ID) or None,
                api_key_hash=context.get(Ctx.API_KEY_HASH) or None,
                tenant_statuses=statuses,
                rechecked=rechecked,
                writing=writing,
            )
        memberships = {t: Role(r) for t, r in json.loads(context.get(Ctx.MEMBERSHIPS) or "{}").items()}
        version = context.get(Ctx.SESSION_VERSION)
        return cls(
            auth_type,
            user_id=context.get(Ctx.USER_ID) or None,
            email=context.get(Ctx.EMAIL) or None,
            is_platform_admin=str(context.get(Ctx.PLATFORM_ADMIN)).lower() == "true",
            memberships=memberships,
            token_id=context.get(Ctx.TOKEN_ID) or None,
            session_version=int(version) if version not in (None, "") else None,
            tenant_statuses=statuses,
            rechecked=rechecked,
            writing=writing,
        )

    @property
    def is_user(self) -> bool:
        return self.auth_type is AuthType.JWT and self.user_id is not None

    def require_user(self) -> str:
        """The user id; API keys act for a tenant, never for a person."""
        if not self.is_user or self.user_id is None:
            raise Forbidden(
                "This action needs a user's access token, not an API key", code="USER_TOKEN_REQUIRED"
            )
        return self.user_id

    def require_platform_admin(self) -> str:
        user_id = self.require_user()
        if not self.is_platform_admin:
            raise Forbidden("Only a platform admin may do this", code="PLATFORM_ADMIN_REQUIRED")
        return user_id


def ensure_writable(principal: Principal, tenant_id: str) -> None:
    """403 when the tenant is SUSPENDED or CANCELLED: its members may read, never write (SPEC §2).
    A status this principal was not checked against is not known here: the write guard's re-check
    always includes the tenant a write acts in."""
    status = principal.tenant_statuses.get(tenant_id, TenantStatus.ACTIVE)
    if status is TenantStatus.SUSPENDED:
        raise Forbidden("The tenant is suspended: it can be read, not changed", code="TENANT_SUSPENDED")
    if status is TenantStatus.CANCELLED:
        raise Forbidden("The tenant is cancelled: it can be read, not changed", code="TENANT_CANCELLED")


@dataclass(frozen=True)
class TenantAccess:
    """A caller acting inside one tenant: a member with a role, the tenant's API key, or a
    platform admin acting for it (only where a route allows it)."""

    tenant_id: str
    principal: Principal
    role: Role | None  # None for an API key or a platform admin acting for the tenant

    @property
    def actor(self) -> str:
        if self.principal.auth_type is AuthType.API_KEY:
            return f"apikey:{self.principal.api_key_id}"
        return f"user:{self.principal.user_id}"


def tenant_access(
    principal: Principal,
    header_tenant_id: str | None,
    *,
    roles: Iterable[Role] | None = None,
    allow_api_key: bool = True,
    platform_admin_acts: bool = False,
    write: bool = False,
) -> TenantAccess:
    """Resolve which tenant the caller acts in, and check its role (403 when it lacks one).

    `platform_admin_acts`: a platform admin may act for any existing tenant here, member or not.
    Writes (`write`, or any request the write guard re-checked) are refused in a tenant that is
    not ACTIVE (`ensure_writable`)."""
    access = _resolve_tenant(principal, header_tenant_id, roles, allow_api_key, platform_admin_acts)
    if write or principal.writing:
        ensure_writable(principal, access.tenant_id)
    return access


def _resolve_tenant(
    principal: Principal,
    header_tenant_id: str | None,
    roles: Iterable[Role] | None,
    allow_api_key: bool,
    platform_admin_acts: bool,
) -> TenantAccess:
    if principal.auth_type is AuthType.API_KEY:
        if not allow_api_key or roles is not None:
            raise Forbidden("API keys cannot perform this action", code="USER_TOKEN_REQUIRED")
        if principal.api_key_tenant_id is None:
            raise Unauthenticated("Invalid API key")
        if header_tenant_id and header_tenant_id != principal.api_key_tenant_id:
            raise Forbidden("The API key belongs to another tenant", code="TENANT_MISMATCH")
        return TenantAccess(principal.api_key_tenant_id, principal, None)
    if not header_tenant_id:
        raise InvalidInput(f"The {TENANT_HEADER} header is required", code="TENANT_HEADER_REQUIRED")
    role = principal.memberships.get(header_tenant_id)
    acting_admin = platform_admin_acts and principal.is_platform_admin
    if role is None and acting_admin:
        if principal.rechecked and header_tenant_id not in principal.tenant_statuses:
            raise NotFound("Tenant not found", code="TENANT_NOT_FOUND")
        return TenantAccess(header_tenant_id, principal, None)
    if role is None:
        raise Forbidden("You are not a member of this tenant", code="NOT_A_MEMBER")
    if roles is not None and role not in set(roles) and not acting_admin:
        raise Forbidden(f"Your role {role.value} may not do this", code="INSUFFICIENT_ROLE")
    return TenantAccess(header_tenant_id, principal, role)
