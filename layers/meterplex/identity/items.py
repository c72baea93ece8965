"""Identity's items in the core table (key shapes live here and in repository.py only).

Access patterns (docs/data-model/identity.md):
* email → user: `EMAIL#<email>` / `EMAIL` (also the uniqueness guard for emails)
* slug → tenant: `SLUG#<slug>` / `SLUG` (uniqueness guard for slugs)
* user → profile + tenants (one Query, used by the authorizer): `USER#<id>` / `PROFILE`, `MEMBER#<tenant>`
* user → invitations (one Query): `USER#<id>` / `INVITE#<tenant>` (TTL = expiry; one per tenant)
* tenant → members: GSI1 `TENANT#<id>#MEMBERS` / `USER#<id>`
* API-key hash → key (one GetItem, used by the authorizer): `APIKEY#<sha256>` / `APIKEY`
* tenant → API keys: GSI1 `TENANT#<id>#APIKEYS` / `<createdAt>#<id>`
* all tenants (the admin overview): GSI4 `TENANTS` / `TENANT#<id>`
* refresh / reset token hash → token: `REFRESH#<sha256>`, `RESET#<sha256>` (TTL)
* rate-limit windows: `RATE#<scope>#<subject>` / `WINDOW#<start>` (TTL)
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from meterplex.platform.core_table import CoreItem


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def slug_pk(slug: str) -> str:
    return f"SLUG#{slug}"


def members_gsi(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#MEMBERS"


def api_keys_gsi(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#APIKEYS"


PROFILE = "PROFILE"
MEMBER_PREFIX = "MEMBER#"
INVITE_PREFIX = "INVITE#"  # sorts before MEMBER#: the authorizer's range MEMBER#…PROFILE skips it


class IdentityItem(CoreItem):
    """Polymorphic base: a Query on a user's collection returns profile and memberships typed."""

    kind = DiscriminatorAttribute()


class UserItem(IdentityItem, discriminator="User"):
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    passwordHash = UnicodeAttribute()
    firstName = UnicodeAttribute()
    lastName = UnicodeAttribute()
    isActive = BooleanAttribute(default=True)
    isPlatformAdmin = BooleanAttribute(default=False)
    sessionVersion = NumberAttribute(default=0)
    createdAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class EmailItem(IdentityItem, discriminator="Email"):
    userId = UnicodeAttribute()


ALL_TENANTS_GSI = "TENANTS"


class TenantItem(IdentityItem, discriminator="Tenant"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    status = UnicodeAttribute()
    meta = JSONAttribute(attr_name="metadata", default=dict)
    version = NumberAttribute(null=True)  # absent on tenants older than it: version 0
    collection = UnicodeAttribute(null=True)  # payment collection (SPEC §8.2); absent: automatic
    createdAt = UnicodeAttribute()
    updatedAt = UnicodeAttribute()


class SlugItem(IdentityItem, discriminator="Slug"):
    tenantId = UnicodeAttribute()


class MemberItem(IdentityItem, discriminator="Member"):
    tenantId = UnicodeAttribute()
    userId = UnicodeAttribute()
    role = UnicodeAttribute()
    isActive = BooleanAttribute(null=True)  # absent on memberships older than the flag: active
    createdAt = UnicodeAttribute()


class InviteItem(IdentityItem, discriminator="Invite"):
    """`expiresAt` (the table's TTL attribute) is the invitation's expiry, in epoch seconds."""

    id = UnicodeAttribute()
    tenantId = UnicodeAttribute()
    userId = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    status = UnicodeAttribute()
    invitedBy = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    respondedAt = UnicodeAttribute(null=True)


class RefreshItem(IdentityItem, discriminator="Refresh"):
    userId = UnicodeAttribute()
    sessionVersion = NumberAttribute()
    issuedAt = UnicodeAttribute()
    revoked = BooleanAttribute(default=False)


class ResetItem(IdentityItem, discriminator="Reset"):
    userId = UnicodeAttribute()


class ApiKeyItem(IdentityItem, discriminator="ApiKey"):
    id = UnicodeAttribute()
    tenantId = UnicodeAttribute()
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    createdAt = UnicodeAttribute()
    createdBy = UnicodeAttribute()
    keyExpiresAt = UnicodeAttribute(null=True)
    revokedAt = UnicodeAttribute(null=True)


class RateWindowItem(IdentityItem, discriminator="RateWindow"):
    hits = NumberAttribute(default=0)
