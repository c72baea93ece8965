"""Identity's items in the core table (key shapes live here and in repository.py only).

Access patterns (docs/data-model/identity.md):
* email → user: `EMAIL#<email>` / `EMAIL` (also the uniqueness guard for emails)
* slug → tenant: `SLUG#<slug>` / `SLUG` (uniqueness guard for slugs)
* user → profile + tenants (one Query, used by the authorizer): `USER#<id>` / `PROFILE`, `MEMBER#<tenant>`
* tenant → members: GSI1 `TENANT#<id>#MEMBERS` / `USER#<id>`
* API-key hash → key (one GetItem, used by the authorizer): `APIKEY#<sha256>` / `APIKEY`
* tenant → API keys: GSI1 `TENANT#<id>#APIKEYS` / `<createdAt>#<id>`
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


class IdentityItem(CoreItem):
    """Polymorphic base: a Query on a user's collection returns profile and memberships typed."""

    kind = DiscriminatorAttribute()


class UserItem(IdentityItem, discriminator="User"):
    id = UnicodeAttribute()
    email = UnicodeAttribute()
    passwordHash = UnicodeAttribute()  # noqa: N815 - attribute names are camelCase, like the API
    firstName = UnicodeAttribute()  # noqa: N815
    lastName = UnicodeAttribute()  # noqa: N815
    isActive = BooleanAttribute(default=True)  # noqa: N815
    isPlatformAdmin = BooleanAttribute(default=False)  # noqa: N815
    sessionVersion = NumberAttribute(default=0)  # noqa: N815
    createdAt = UnicodeAttribute()  # noqa: N815
    updatedAt = UnicodeAttribute()  # noqa: N815


class EmailItem(IdentityItem, discriminator="Email"):
    userId = UnicodeAttribute()  # noqa: N815


class TenantItem(IdentityItem, discriminator="Tenant"):
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    slug = UnicodeAttribute()
    status = UnicodeAttribute()
    meta = JSONAttribute(attr_name="metadata", default=dict)
    createdAt = UnicodeAttribute()  # noqa: N815
    updatedAt = UnicodeAttribute()  # noqa: N815


class SlugItem(IdentityItem, discriminator="Slug"):
    tenantId = UnicodeAttribute()  # noqa: N815


class MemberItem(IdentityItem, discriminator="Member"):
    tenantId = UnicodeAttribute()  # noqa: N815
    userId = UnicodeAttribute()  # noqa: N815
    role = UnicodeAttribute()
    createdAt = UnicodeAttribute()  # noqa: N815


class RefreshItem(IdentityItem, discriminator="Refresh"):
    userId = UnicodeAttribute()  # noqa: N815
    sessionVersion = NumberAttribute()  # noqa: N815
    issuedAt = UnicodeAttribute()  # noqa: N815
    revoked = BooleanAttribute(default=False)


class ResetItem(IdentityItem, discriminator="Reset"):
    userId = UnicodeAttribute()  # noqa: N815


class ApiKeyItem(IdentityItem, discriminator="ApiKey"):
    id = UnicodeAttribute()
    tenantId = UnicodeAttribute()  # noqa: N815
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()
    createdAt = UnicodeAttribute()  # noqa: N815
    createdBy = UnicodeAttribute()  # noqa: N815
    keyExpiresAt = UnicodeAttribute(null=True)  # noqa: N815 - not the TTL: expired keys stay listed
    revokedAt = UnicodeAttribute(null=True)  # noqa: N815
    tenantStatus = UnicodeAttribute(default="ACTIVE")  # noqa: N815 - copied so one read decides


class RateWindowItem(IdentityItem, discriminator="RateWindow"):
    hits = NumberAttribute(default=0)
