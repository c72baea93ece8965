"""The principal a request carries: what the authorizer proved, as handlers read it.

The authorizer authenticates (token or API key) and puts a flat string context on the request
(`requestContext.authorizer`); handlers authorize with `tenant_access` / `require_platform_admin`.
The context's keys are constants here so the authorizer and the handlers spell them once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from meterplex.platform.errors import Forbidden, InvalidInput, Unauthenticated

TENANT_HEADER = "x-tenant-id"
API_KEY_PREFIX = "mp_live_"


class Role(StrEnum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    DEVELOPER = "DEVELOPER"
    BILLING = "BILLING"


MANAGERS = frozenset({Role.OWNER, Role.ADMIN})


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
    TOKEN_ID = "jti"


@dataclass(frozen=True)
class Principal:
    auth_type: AuthType
    user_id: str | None = None
    email: str | None = None
    is_platform_admin: bool = False
    memberships: Mapping[str, Role] = field(default_factory=dict)
    api_key_tenant_id: str | None = None
    api_key_id: str | None = None
    token_id: str | None = None

    def to_context(self) -> dict[str, str]:
        context = {Ctx.AUTH_TYPE: self.auth_type.value}
        if self.auth_type is AuthType.JWT:
            context |= {
                Ctx.USER_ID: self.user_id or "",
                Ctx.EMAIL: self.email or "",
                Ctx.PLATFORM_ADMIN: "true" if self.is_platform_admin else "false",
                Ctx.MEMBERSHIPS: json.dumps({t: r.value for t, r in self.memberships.items()}),
                Ctx.TOKEN_ID: self.token_id or "",
            }
        else:
            context |= {Ctx.TENANT_ID: self.api_key_tenant_id or "", Ctx.API_KEY_ID: self.api_key_id or ""}
        return context

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Principal:
        if not context or Ctx.AUTH_TYPE not in context:
            raise Unauthenticated("Authentication required")
        auth_type = AuthType(context[Ctx.AUTH_TYPE])
        if auth_type is AuthType.API_KEY:
            return cls(
                auth_type,
                api_key_tenant_id=context.get(Ctx.TENANT_ID) or None,
                api_key_id=context.get(Ctx.API_KEY_ID) or None,
            )
        memberships = {t: Role(r) for t, r in json.loads(context.get(Ctx.MEMBERSHIPS) or "{}").items()}
        return cls(
            auth_type,
            user_id=context.get(Ctx.USER_ID) or None,
            email=context.get(Ctx.EMAIL) or None,
            is_platform_admin=str(context.get(Ctx.PLATFORM_ADMIN)).lower() == "true",
            memberships=memberships,
            token_id=context.get(Ctx.TOKEN_ID) or None,
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


@dataclass(frozen=True)
class TenantAccess:
    """A caller acting inside one tenant: a member with a role, or the tenant's API key."""

    tenant_id: str
    principal: Principal
    role: Role | None  # None for an API key

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
) -> TenantAccess:
    """Resolve which tenant the caller acts in, and check its role (403 when it lacks one)."""
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
    if role is None:
        raise Forbidden("You are not a member of this tenant", code="NOT_A_MEMBER")
    if roles is not None and role not in set(roles):
        raise Forbidden(f"Your role {role.value} may not do this", code="INSUFFICIENT_ROLE")
    return TenantAccess(header_tenant_id, principal, role)
