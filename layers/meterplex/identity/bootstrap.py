"""Bootstrap identities outside the API: the first platform admin (CLI, local cloud start) and the
demo seed's users and tenants. Every function is idempotent (safe to run on every start).

An existing account is never made a platform admin silently (finding 9: anyone could register the
configured admin email first and be promoted on the next start): promoting one needs the explicit
`promote_existing` (CLI `--promote-existing`, env `MP_ADMIN_PROMOTE_EXISTING=true`), and the
outcome is reported. CLI, against the table of `MP_CORE_TABLE` with the caller's AWS credentials
(or the local cloud's moto):

    MP_CORE_TABLE=meterplex-dev-core python -m meterplex.identity.bootstrap --email ops@example.com
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from enum import StrEnum

from meterplex.identity.auth_service import new_user, normalize_email
from meterplex.identity.models import Membership, Tenant
from meterplex.identity.repository import IdentityRepository
from meterplex.platform import audit
from meterplex.platform.auth import Role
from meterplex.platform.clock import system_clock
from meterplex.platform.errors import Conflict, MeterplexError
from meterplex.platform.ids import new_id
from meterplex.platform.settings import PasswordSettings, load

PROMOTE_EXISTING_ENV = "MP_ADMIN_PROMOTE_EXISTING"


class Outcome(StrEnum):
    CREATED = "created"
    PROMOTED = "promoted"
    UNCHANGED = "unchanged"  # the account exists and already has what was asked


@dataclass(frozen=True)
class Ensured:
    user_id: str
    outcome: Outcome


class PromotionRefused(Conflict):
    def __init__(self, email: str) -> None:
        super().__init__(
            f"An account with {email} already exists and is not a platform admin; it is not promoted "
            f"without --promote-existing (or {PROMOTE_EXISTING_ENV}=true)",
            code="PROMOTION_REFUSED",
        )


def promote_existing_from_env() -> bool:
    return os.environ.get(PROMOTE_EXISTING_ENV, "false").strip().lower() == "true"


def _repo() -> IdentityRepository:
    return IdentityRepository()


def ensure_account(
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    *,
    platform_admin: bool = False,
    promote_existing: bool = False,
) -> Ensured:
    """The user with `email`, created if missing. `platform_admin` is granted to a new account; an
    existing one is promoted only with `promote_existing` (else `PromotionRefused`); never removed."""
    repo = _repo()
    email = normalize_email(email)
    existing = repo.user_id_by_email(email)
    if existing is not None:
        return _existing(repo, existing, email, platform_admin=platform_admin, promote=promote_existing)
    now = system_clock.now()
    rounds = load(PasswordSettings).bcrypt_rounds
    user = new_user(
        email, password, first_name, last_name, now=now, bcrypt_rounds=rounds, platform_admin=platform_admin
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
        repo.create_standalone_user(user, [event])
    except Conflict:  # created concurrently (another start): treat it as the existing account
        raced = repo.user_id_by_email(email) or user.id
        return _existing(repo, raced, email, platform_admin=platform_admin, promote=promote_existing)
    return Ensured(user.id, Outcome.CREATED)


def _existing(
    repo: IdentityRepository, user_id: str, email: str, *, platform_admin: bool, promote: bool
) -> Ensured:
    user = repo.get_user(user_id)
    if not platform_admin or (user is not None and user.is_platform_admin):
        return Ensured(user_id, Outcome.UNCHANGED)
    if not promote:
        raise PromotionRefused(email)
    event = audit.event(
        "user.promoted_to_platform_admin",
        actor=audit.SYSTEM,
        at=system_clock.now(),
        tenant_id=None,
        resource="user",
        resource_id=user_id,
        changes={"isPlatformAdmin": True, "reason": "bootstrap --promote-existing"},
    )
    repo.set_platform_admin(user_id, True, [event])
    return Ensured(user_id, Outcome.PROMOTED)


def ensure_user(
    email: str, password: str, first_name: str, last_name: str, *, platform_admin: bool = False
) -> str:
    """The id of the user with `email`, created if missing (the demo seed's users)."""
    return ensure_account(email, password, first_name, last_name, platform_admin=platform_admin).user_id


def ensure_platform_admin(email: str, password: str, *, promote_existing: bool = False) -> Ensured:
    return ensure_account(
        email, password, "Platform", "Admin", platform_admin=True, promote_existing=promote_existing
    )


def ensure_tenant(slug: str, name: str, owner_user_id: str) -> str:
    repo = _repo()
    existing = repo.tenant_id_by_slug(slug)
    if existing is not None:
        return existing
    now = system_clock.now()
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
        repo.create_tenant(tenant, Membership(tenant.id, owner_user_id, Role.OWNER), [event])
    except Conflict:
        return repo.tenant_id_by_slug(slug) or tenant.id
    return tenant.id


def ensure_membership(tenant_id: str, user_id: str, role: Role) -> None:
    repo = _repo()
    if repo.membership(tenant_id, user_id) is not None:
        return
    now = system_clock.now()
    event = audit.event(
        "member.added",
        actor=audit.SYSTEM,
        at=now,
        tenant_id=tenant_id,
        resource="membership",
        resource_id=user_id,
        changes={"role": role.value},
    )
    try:
        repo.add_membership(Membership(tenant_id, user_id, role), now, [event])
    except Conflict:
        return


REPORT = {
    Outcome.CREATED: "created platform admin {email}",
    Outcome.PROMOTED: "promoted the existing account {email} to platform admin (--promote-existing)",
    Outcome.UNCHANGED: "{email} is already a platform admin; nothing changed",
}


def report(email: str, ensured: Ensured) -> str:
    return REPORT[ensured.outcome].format(email=normalize_email(email))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meterplex.identity.bootstrap",
        description="Create the first platform admin (password from MP_ADMIN_PASSWORD, or prompted)",
    )
    parser.add_argument("--email", required=True)
    parser.add_argument(
        "--promote-existing",
        action="store_true",
        default=promote_existing_from_env(),
        help=f"make an existing account with this email a platform admin (or {PROMOTE_EXISTING_ENV}=true)",
    )
    args = parser.parse_args(argv)
    password = os.environ.get("MP_ADMIN_PASSWORD") or getpass.getpass("Password for the new admin: ")
    try:
        ensured = ensure_platform_admin(args.email, password, promote_existing=args.promote_existing)
    except MeterplexError as error:
        details = "".join(f"; {d.message}" for d in error.details)
        sys.stderr.write(f"error: {error.message}{details}\n")
        return 1
    sys.stdout.write(report(args.email, ensured) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
