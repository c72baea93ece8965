"""Identity's API schemas (they drive validation and OpenAPI), and their mapping from domain types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, model_validator

from meterplex.identity.models import (
    ApiKey,
    Collection,
    Invitation,
    InvitationStatus,
    Membership,
    Tenant,
    TenantStatus,
    User,
)
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.auth import Role
from meterplex.platform.limits import Metadata, key_part

Email = Annotated[
    str,
    Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254, examples=["ada@example.com"]),
    AfterValidator(key_part),  # part of the user's key: ≤ 255 bytes in UTF-8 (SPEC §0)
]
# Secrets are SecretStr so no repr or log line (even Powertools' debug logs) can show them.
Password = Annotated[
    SecretStr, Field(min_length=1, max_length=200, description="8–72 chars, a lower, an upper, a digit")
]
PersonName = Annotated[str, Field(min_length=1, max_length=100)]
TenantName = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9-]{2,99}$", description="lowercase, 3–100 chars", examples=["acme-corp"]),
]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=512)]


# ---------------------------------------------------------------------- requests
class RegisterRequest(ApiModel):
    email: Email
    password: Password
    first_name: PersonName
    last_name: PersonName
    tenant_name: TenantName
    tenant_slug: Slug


class LoginRequest(ApiModel):
    email: Email
    password: Password


class RefreshRequest(ApiModel):
    refresh_token: Secret


class ChangePasswordRequest(ApiModel):
    current_password: Password
    new_password: Password


class ForgotPasswordRequest(ApiModel):
    email: Email


class ResetPasswordRequest(ApiModel):
    token: Secret
    new_password: Password


class LogoutRequest(ApiModel):
    refresh_token: Secret


class CreateTenantRequest(ApiModel):
    name: TenantName
    slug: Slug
    metadata: Metadata = Field(default_factory=dict)


class UpdateTenantRequest(ApiModel):
    name: TenantName | None = None
    metadata: Metadata | None = None
    status: TenantStatus | None = None
    collection: Collection | None = Field(
        None, description="How invoices are paid: automatic (charged when finalized) or manual (mark-paid)"
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateTenantRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, metadata, status, collection")
        return self


class CreateUserRequest(ApiModel):
    email: Email
    password: Password
    first_name: PersonName
    last_name: PersonName
    role: Role = Role.DEVELOPER


class UpdateUserRequest(ApiModel):
    """Names: the user's own. `role` / `isActive`: another member's membership in the x-tenant-id
    tenant (OWNER/ADMIN; OWNER to grant or take OWNER) — never the account itself."""

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    role: Role | None = Field(None, description="The member's role in the x-tenant-id tenant")
    is_active: bool | None = Field(
        None, description="Whether the membership in the x-tenant-id tenant is active"
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateUserRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of firstName, lastName, role, isActive")
        if "role" in self.model_fields_set and self.role is None:
            raise ValueError("role cannot be null")
        if "is_active" in self.model_fields_set and self.is_active is None:
            raise ValueError("isActive cannot be null")
        return self


class AdminUpdateUserRequest(ApiModel):
    is_active: bool = Field(description="Switch the account itself on or off (off ends its sessions)")


class CreateApiKeyRequest(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None


# ---------------------------------------------------------------------- responses
class UserOut(ApiResponse):
    id: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_platform_admin: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            is_active=user.is_active,
            is_platform_admin=user.is_platform_admin,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class MemberOut(UserOut):
    role: Role


class MembershipOut(ApiResponse):
    tenant_id: str
    role: Role
    is_active: bool

    @classmethod
    def of(cls, membership: Membership) -> MembershipOut:
        return cls(tenant_id=membership.tenant_id, role=membership.role, is_active=membership.is_active)


class UserWithMembershipOut(UserOut):
    membership: MembershipOut | None = Field(
        None, description="The membership in the x-tenant-id tenant, when the request changed it"
    )


class InvitationCreatedOut(ApiResponse):
    """The 202 answer of POST /users for an email that has an account: nothing about the account."""

    invitation_id: str
    email: str
    role: Role
    status: Literal["PENDING"] = "PENDING"
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationCreatedOut:
        return cls(
            invitation_id=invitation.id,
            email=invitation.email,
            role=invitation.role,
            expires_at=invitation.expires_at,
        )


class InvitationOut(ApiResponse):
    """An invitation, as the invited user sees it."""

    id: str
    tenant_id: str
    tenant_name: str | None
    tenant_slug: str | None
    role: Role
    status: InvitationStatus
    invited_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation, tenant: Tenant | None) -> InvitationOut:
        return cls(
            id=invitation.id,
            tenant_id=invitation.tenant_id,
            tenant_name=tenant.name if tenant else None,
            tenant_slug=tenant.slug if tenant else None,
            role=invitation.role,
            status=invitation.status,
            invited_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )


class TenantOut(ApiResponse):
    id: str
    name: str
    slug: str
    status: TenantStatus
    metadata: dict[str, Any]
    collection: Collection
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id,
            name=tenant.name,
            slug=tenant.slug,
            status=tenant.status,
            metadata=tenant.metadata,
            collection=tenant.collection,
            created_at=tenant.created_at,
            updated_at=tenant.updated_at,
        )


class TenantWithRoleOut(TenantOut):
    role: Role


class TokenPairOut(ApiResponse):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = 900


class LoginOut(TokenPairOut):
    user: UserOut


class RegisterOut(LoginOut):
    tenant: TenantOut


class MessageOut(ApiResponse):
    message: str


class ApiKeyOut(ApiResponse):
    id: str
    name: str
    prefix: str
    status: Literal["ACTIVE", "REVOKED", "EXPIRED"]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> ApiKeyOut:
        return cls(**cls._fields(key, now))

    @staticmethod
    def _fields(key: ApiKey, now: datetime) -> dict[str, Any]:
        status: Literal["ACTIVE", "REVOKED", "EXPIRED"] = "ACTIVE"
        if key.revoked_at is not None:
            status = "REVOKED"
        elif key.expires_at is not None and key.expires_at <= now:
            status = "EXPIRED"
        return {
            "id": key.id,
            "name": key.name,
            "prefix": key.prefix,
            "status": status,
            "created_at": key.created_at,
            "created_by": key.created_by,
            "expires_at": key.expires_at,
            "revoked_at": key.revoked_at,
        }


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key. It is shown only once: store it now.")

    @classmethod
    def created(cls, key: ApiKey, secret: str, now: datetime) -> ApiKeyCreatedOut:
        return cls(key=secret, **ApiKeyOut._fields(key, now))


class TenantContextOut(ApiResponse):
    tenant: TenantOut
    role: Role | None = Field(description="The caller's role; null for an API key")
    auth_type: Literal["jwt", "api_key"]
    subscription: dict[str, Any] | None = Field(description="Summary of the active subscription, if any")
