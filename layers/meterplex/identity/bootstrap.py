"""Bootstrap identities outside the API: the first platform admin (CLI, local cloud start) and the
demo seed's users and tenants. Every function is idempotent (safe to run on every start)."""

from __future__ import annotations

from meterplex.identity.auth_service import IdentityDeps, check_password_policy, normalize_email
from meterplex.identity.models import Membership, Tenant, User
from meterplex.identity.passwords import hash_password
from meterplex.platform import audit
from meterplex.platform.auth import Role
from meterplex.platform.errors import Conflict
from meterplex.platform.ids import new_id


def _deps() -> IdentityDeps:
    return IdentityDeps()


def ensure_user(
    email: str, password: str, first_name: str, last_name: str, *, platform_admin: bool = False
) -> str:
    """The id of the user with `email`, created if missing; `platform_admin` is granted, never removed."""
    deps = _deps()
    email = normalize_email(email)
    existing = deps.repo.user_id_by_email(email)
    if existing is not None:
        user = deps.repo.get_user(existing)
        if user is not None and platform_admin and not user.is_platform_admin:
            user.is_platform_admin = True
            deps.repo.set_platform_admin(user.id, True)
        return existing
    check_password_policy(password, "password")
    now = deps.clock.now()
    user = User(
        id=new_id(),
        email=email,
        password_hash=hash_password(password, deps.settings.bcrypt_rounds),
        first_name=first_name,
        last_name=last_name,
        is_platform_admin=platform_admin,
        created_at=now,
        updated_at=now,
    )
    event = audit.event(
        "user.bootstrapped",
        actor=audit.SYSTEM,
        at=now,
        tenant_id=None,
        resource="user",
        resource_id=user.id,
        changes={"email": email, "isPlatformAdmin": platform_admin},
    )
    try:
        deps.repo.create_standalone_user(user, [event])
    except Conflict:
        return deps.repo.user_id_by_email(email) or user.id
    return user.id


def ensure_platform_admin(email: str, password: str) -> str:
    return ensure_user(email, password, "Platform", "Admin", platform_admin=True)


def ensure_tenant(slug: str, name: str, owner_user_id: str) -> str:
    deps = _deps()
    existing = deps.repo.tenant_id_by_slug(slug)
    if existing is not None:
        return existing
    now = deps.clock.now()
    tenant = Tenant(id=new_id(), name=name, slug=slug, created_at=now, updated_at=now)
    event = audit.event(
        "tenant.created",
        actor=audit.SYSTEM,
        at=now,
        tenant_id=tenant.id,
        resource="tenant",
        resource_id=tenant.id,
        changes={"name": name, "slug": slug, "ownerId": owner_user_id},
    )
    try:
        deps.repo.create_tenant(tenant, Membership(tenant.id, owner_user_id, Role.OWNER), [event])
    except Conflict:
        return deps.repo.tenant_id_by_slug(slug) or tenant.id
    return tenant.id


def ensure_membership(tenant_id: str, user_id: str, role: Role) -> None:
    deps = _deps()
    if deps.repo.membership(tenant_id, user_id) is not None:
        return
    now = deps.clock.now()
    event = audit.event(
        "member.added",
        actor=audit.SYSTEM,
        at=now,
        tenant_id=tenant_id,
        resource="user",
        resource_id=user_id,
        changes={"role": role.value},
    )
    try:
        deps.repo.add_membership(Membership(tenant_id, user_id, role), now, [event])
    except Conflict:
        return
