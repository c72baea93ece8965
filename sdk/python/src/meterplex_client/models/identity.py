"""Identity (SPEC §1–§2): users, tenants, tokens, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from meterplex_client.models.base import Body, Model


class User(Model):
    id: str
    email: str
    first_name: str
    last_name: str
    is_active: bool
    is_platform_admin: bool
    created_at: datetime
    updated_at: datetime


class Member(User):
    role: str


class Tenant(Model):
    id: str
    name: str
    slug: str
    status: str
    metadata: dict[str, Any]
    collection: str = "automatic"  # how invoices are paid: automatic | manual (SPEC §8.2)
    created_at: datetime
    updated_at: datetime


class TenantWithRole(Tenant):
    role: str


class TokenPair(Model):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = 900


class LoginResult(TokenPair):
    user: User


class RegisterResult(LoginResult):
    tenant: Tenant


class TenantContext(Model):
    tenant: Tenant
    role: str | None
    auth_type: str
    subscription: dict[str, Any] | None


class InvitationCreated(Model):
    """202 from `POST /users` for an email that already has an account (SPEC §2)."""

    invitation_id: str
    email: str
    role: str
    status: str
    expires_at: datetime


class Invitation(Model):
    """An invitation into a tenant, as the invited user sees it."""

    id: str
    tenant_id: str
    tenant_name: str | None
    tenant_slug: str | None
    role: str
    status: str
    invited_at: datetime
    expires_at: datetime


class Membership(Model):
    tenant_id: str
    role: str
    is_active: bool


class UserWithMembership(User):
    """`PATCH /users/{id}`: the user, and the membership in the x-tenant-id tenant if it changed."""

    membership: Membership | None = None


class ApiKey(Model):
    id: str
    name: str
    prefix: str
    status: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The full key, shown only once")


# ---------------------------------------------------------------------- request bodies
class RegisterRequest(Body):
    email: str
    password: str
    first_name: str
    last_name: str
    tenant_name: str
    tenant_slug: str


class LoginRequest(Body):
    email: str
    password: str


class RefreshRequest(Body):
    refresh_token: str


class ChangePasswordRequest(Body):
    current_password: str
    new_password: str


class ForgotPasswordRequest(Body):
    email: str


class ResetPasswordRequest(Body):
    token: str
    new_password: str


class LogoutRequest(Body):
    refresh_token: str


class CreateTenantRequest(Body):
    name: str
    slug: str
    metadata: dict[str, Any] | None = None


class UpdateTenantRequest(Body):
    name: str | None = None
    metadata: dict[str, Any] | None = None
    status: str | None = None
    collection: str | None = Field(None, description="automatic | manual (SPEC §8.2)")


class CreateUserRequest(Body):
    email: str
    password: str
    first_name: str
    last_name: str
    role: str | None = None


class UpdateUserRequest(Body):
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    is_active: bool | None = None


class CreateApiKeyRequest(Body):
    name: str
    expires_in_days: int | None = None
