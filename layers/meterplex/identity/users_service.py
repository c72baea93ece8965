"""Users (SPEC §2): people added to a tenant, profiles, and accounts switched on and off.

`POST /users` creates a new account with its membership (201), or — for an email that already has
an account — an invitation that the account must accept (202; nothing about it revealed, the
password ignored). A profile's names belong to the user alone; an account is deactivated only by a
platform admin (`PATCH /admin/users/{id}`). Roles and active flags per tenant: `memberships_service`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from meterplex.identity.auth_service import IdentityDeps, new_user, normalize_email
from meterplex.identity.memberships_service import MembershipService, member_not_found
from meterplex.identity.models import Invitation, Membership, User
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.auth import Principal, Role, TenantAccess
from meterplex.platform.errors import Forbidden


@dataclass(frozen=True)
class NewMember:
    user: User
    role: Role


class UserService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.repo, self.clock = deps.repo, deps.clock
        self.bcrypt_rounds = deps.settings.bcrypt_rounds
        self.memberships = MembershipService(deps)

    def add_to_tenant(
        self,
        access: TenantAccess,
        *,
        email: str,
        password: str,
        first_name: str,
        last_name: str,
        role: Role,
        actor: Actor,
    ) -> NewMember | Invitation:
        if role is Role.OWNER and access.role is not Role.OWNER:
            raise Forbidden("Only an OWNER may grant OWNER", code="INSUFFICIENT_ROLE")
        email = normalize_email(email)
        existing_id = self.repo.user_id_by_email(email)
        existing = self.repo.get_user(existing_id) if existing_id else None
        if existing is not None:
            return self.memberships.invite(access, existing, role, actor)
        now = self.clock.now()
        user = new_user(email, password, first_name, last_name, now=now, bcrypt_rounds=self.bcrypt_rounds)
        event = audit.event(
            "user.created",
            actor=actor,
            at=now,
            tenant_id=access.tenant_id,
            resource="user",
            resource_id=user.id,
            changes={"email": email, "firstName": first_name, "lastName": last_name, "role": role.value},
        )
        self.repo.create_user(user, Membership(access.tenant_id, user.id, role), [event])
        return NewMember(user, role)

    def _shares_a_tenant(self, principal: Principal, user_id: str) -> bool:
        theirs = {m.tenant_id for m in self.repo.memberships_of(user_id)}
        return bool(theirs & set(principal.memberships))

    def visible_user(self, principal: Principal, user_id: str) -> User:
        """The caller, or a user sharing one of the caller's tenants; 404 otherwise."""
        if user_id != principal.user_id and not self._shares_a_tenant(principal, user_id):
            raise member_not_found()
        user = self.repo.get_user(user_id)
        if user is None:
            raise member_not_found()
        return user

    def rename(self, principal: Principal, user_id: str, changes: dict[str, Any], actor: Actor) -> User:
        """A user's own names (nobody else's)."""
        user = self.visible_user(principal, user_id)
        if user_id != principal.user_id:
            raise Forbidden("Only the user may change their own name", code="NOT_YOUR_PROFILE")
        now = self.clock.now()
        updated = replace(
            user,
            first_name=changes.get("firstName", user.first_name),
            last_name=changes.get("lastName", user.last_name),
            updated_at=now,
        )
        event = audit.event(
            "user.updated",
            actor=actor,
            at=now,
            tenant_id=None,
            resource="user",
            resource_id=user_id,
            changes=changes,
        )
        self.repo.update_profile(updated, [event])
        return updated

    def set_account_active(self, principal: Principal, user_id: str, active: bool, actor: Actor) -> User:
        """Platform admins only: switch the account itself on or off (off also ends its sessions)."""
        admin_id = principal.require_platform_admin()
        if user_id == admin_id:
            raise Forbidden(
                "You cannot change your own account's active status", code="CANNOT_DEACTIVATE_SELF"
            )
        user = self.repo.get_user(user_id)
        if user is None:
            raise member_not_found()
        now = self.clock.now()
        event = audit.event(
            "user.activated" if active else "user.deactivated",
            actor=actor,
            at=now,
            tenant_id=None,
            resource="user",
            resource_id=user_id,
            changes={"isActive": active},
        )
        self.repo.set_account_active(user_id, active, now, [event])
        return replace(user, is_active=active, updated_at=now)
