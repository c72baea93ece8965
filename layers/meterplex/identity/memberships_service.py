"""Memberships and invitations (SPEC §2, finding 1; ADR 0033).

* An existing account is never added to a tenant silently: `POST /users` with its email creates a
  pending invitation (202, nothing about the account in the answer) that the account accepts or
  declines; acceptance is one conditional transaction (pending, unexpired, for the caller's
  email, not a member yet, tenant ACTIVE).
* `role` and `isActive` belong to the membership in one tenant — never to the account, never to
  another tenant, never one's own. OWNER is needed to grant or take OWNER.
* The last OWNER is never demoted, deactivated or removed: every change to an active OWNER's
  membership carries a condition check that another active OWNER (the acting one, or for one who
  leaves, a co-owner) still holds — serializable transactions make that exact under concurrency,
  with no counter to drift.
* Every membership change lands in the tenant's audit trail (the event's tenant is the tenant).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from meterplex.identity.auth_service import IdentityDeps
from meterplex.identity.models import Invitation, InvitationStatus, Membership, Tenant, User
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.auth import MANAGERS, Principal, Role, TenantAccess, ensure_writable
from meterplex.platform.errors import Conflict, Forbidden, NotFound
from meterplex.platform.ids import new_id


def invitation_not_found() -> NotFound:
    return NotFound("Invitation not found", code="INVITATION_NOT_FOUND")


def member_not_found() -> NotFound:
    return NotFound("User not found", code="USER_NOT_FOUND")


def is_active_owner(membership: Membership) -> bool:
    return membership.role is Role.OWNER and membership.is_active


class MembershipService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.repo, self.clock = deps.repo, deps.clock
        self.invitation_ttl = timedelta(days=deps.settings.invitation_ttl_days)

    # ------------------------------------------------------------------ invitations
    def invite(self, access: TenantAccess, user: User, role: Role, actor: Actor) -> Invitation:
        """Invite the existing account `user` (409 ALREADY_A_MEMBER if it is one already)."""
        now = self.clock.now()
        invitation = Invitation(
            id=new_id(),
            tenant_id=access.tenant_id,
            user_id=user.id,
            email=user.email,
            role=role,
            invited_by=access.actor,
            created_at=now,
            expires_at=now + self.invitation_ttl,
        )
        event = audit.event(
            "member.invited",
            actor=actor,
            at=now,
            tenant_id=access.tenant_id,
            resource="invitation",
            resource_id=invitation.id,  # not the account's id: the inviter learns nothing of it
            changes={"email": user.email, "role": role.value, "expiresAt": invitation.expires_at.isoformat()},
        )
        self.repo.save_invitation(invitation, [event])
        return invitation

    def open_invitations(self, user_id: str) -> list[tuple[Invitation, Tenant | None]]:
        """The caller's pending, unexpired invitations, newest first, with their tenants."""
        now = self.clock.now()
        invitations = [i for i in self.repo.invitations_of(user_id) if i.open_at(now)]
        tenants = self.repo.tenants([i.tenant_id for i in invitations])
        ordered = sorted(invitations, key=lambda i: i.created_at, reverse=True)
        return [(i, tenants.get(i.tenant_id)) for i in ordered]

    def _own_invitation(self, principal: Principal, invitation_id: str) -> Invitation:
        user_id = principal.require_user()
        found = next((i for i in self.repo.invitations_of(user_id) if i.id == invitation_id), None)
        if found is None or found.email != principal.email:
            raise invitation_not_found()
        return found

    def accept(self, principal: Principal, invitation_id: str, actor: Actor) -> tuple[Tenant, Role]:
        invitation = self._own_invitation(principal, invitation_id)
        now = self.clock.now()
        if not invitation.open_at(now):
            if now >= invitation.expires_at:
                raise Conflict("The invitation has expired; ask for a new one", code="INVITATION_EXPIRED")
            raise Conflict("The invitation is no longer pending", code="INVITATION_NOT_PENDING")
        event = audit.event(
            "member.joined",
            actor=actor,
            at=now,
            tenant_id=invitation.tenant_id,
            resource="membership",
            resource_id=invitation.user_id,
            changes={"role": invitation.role.value, "invitationId": invitation.id},
        )
        self.repo.accept_invitation(invitation, principal.email or "", now, [event])
        tenant = self.repo.get_tenant(invitation.tenant_id)
        if tenant is None:
            raise NotFound("Tenant not found", code="TENANT_NOT_FOUND")
        return tenant, invitation.role

    def decline(self, principal: Principal, invitation_id: str, actor: Actor) -> Invitation:
        invitation = self._own_invitation(principal, invitation_id)
        now = self.clock.now()
        if not invitation.open_at(now):
            raise Conflict("The invitation is no longer pending", code="INVITATION_NOT_PENDING")
        event = audit.event(
            "member.declined",
            actor=actor,
            at=now,
            tenant_id=invitation.tenant_id,
            resource="invitation",
            resource_id=invitation.id,
            changes={"status": "DECLINED"},
        )
        self.repo.decline_invitation(invitation, now, [event])
        return replace(invitation, status=InvitationStatus.DECLINED)

    # ------------------------------------------------------------------ memberships
    def update_membership(
        self, access: TenantAccess, user_id: str, changes: dict[str, Any], actor: Actor
    ) -> Membership:
        """`role` / `isActive` of another member's membership in the caller's tenant."""
        caller = self._acting_manager(access, user_id)
        current = self._member(access.tenant_id, user_id)
        updated = replace(
            current,
            role=Role(changes.get("role", current.role)),
            is_active=bool(changes.get("isActive", current.is_active)),
        )
        self._check_owner_rules(caller.role, current, updated.role)
        event = self._membership_event(
            "member.updated", access, actor, user_id, before=current, after=updated
        )
        # conditional on the acting manager's own membership as read: the authority it was judged
        # by holds at commit, and an OWNER demoting another OWNER is itself still one (the last
        # OWNER stays)
        self.repo.update_membership(current, updated, caller, [event])
        return updated

    def remove(
        self, principal: Principal, tenant_id: str, header_tenant_id: str | None, user_id: str, actor: Actor
    ) -> None:
        """`DELETE /tenants/{id}/members/{userId}`: an OWNER/ADMIN removes a member, or a member leaves."""
        if header_tenant_id and header_tenant_id != tenant_id:
            raise Forbidden("The path tenant differs from x-tenant-id", code="TENANT_MISMATCH")
        leaving = user_id == principal.user_id
        role = principal.memberships.get(tenant_id)
        if role is None and not leaving:
            raise NotFound("Tenant not found", code="TENANT_NOT_FOUND")  # not a member: never reveal it
        if not leaving and role not in MANAGERS:
            raise Forbidden("Only an OWNER or ADMIN may remove members", code="INSUFFICIENT_ROLE")
        current = self._member(tenant_id, user_id)
        ensure_writable(principal, tenant_id)
        if leaving:  # a leaving OWNER needs a co-owner who still is one at commit
            guard = self._co_owner(tenant_id, user_id) if is_active_owner(current) else None
        else:
            guard = self._acting_authority(tenant_id, principal.require_user())
            if current.role is Role.OWNER and guard.role is not Role.OWNER:
                raise Forbidden("Only an OWNER may remove an OWNER", code="INSUFFICIENT_ROLE")
        access = TenantAccess(tenant_id, principal, role)
        event = self._membership_event("member.removed", access, actor, user_id, before=current, after=None)
        self.repo.remove_membership(current, guard, [event])

    def _acting_manager(self, access: TenantAccess, user_id: str) -> Membership:
        caller_id = access.principal.require_user()
        if user_id == caller_id:
            raise Forbidden(
                "You cannot change your own role or active status", code="CANNOT_CHANGE_OWN_MEMBERSHIP"
            )
        if access.role not in MANAGERS:
            raise Forbidden("Only an OWNER or ADMIN may change memberships", code="INSUFFICIENT_ROLE")
        return self._acting_authority(access.tenant_id, caller_id)

    def _acting_authority(self, tenant_id: str, caller_id: str) -> Membership:
        """The acting manager's own membership, read now: the role every rule is judged by (the
        principal's role was read before, and a concurrent change — another OWNER demoting this
        one — may have landed since). The write is then conditional on it, so it holds at commit."""
        caller = self._member(tenant_id, caller_id)
        if not caller.is_active or caller.role not in MANAGERS:
            raise Forbidden("Only an OWNER or ADMIN may change memberships", code="INSUFFICIENT_ROLE")
        return caller

    @staticmethod
    def _check_owner_rules(acting_role: Role, current: Membership, new_role: Role) -> None:
        touches_owner = current.role is Role.OWNER or new_role is Role.OWNER
        if touches_owner and acting_role is not Role.OWNER:
            raise Forbidden("Only an OWNER may grant or take OWNER", code="INSUFFICIENT_ROLE")

    def _member(self, tenant_id: str, user_id: str) -> Membership:
        membership = self.repo.membership(tenant_id, user_id)
        if membership is None:
            raise member_not_found()
        return membership

    def _co_owner(self, tenant_id: str, leaving_user_id: str) -> Membership:
        """Another active OWNER, whose membership the removal is then conditional on."""
        for member in self.repo.members_of(tenant_id):
            if member.user_id != leaving_user_id and is_active_owner(member):
                confirmed = self.repo.membership(tenant_id, member.user_id)  # the index may lag
                if confirmed is not None and is_active_owner(confirmed):
                    return confirmed
        raise Conflict("The last OWNER cannot leave: make another member OWNER first", code="LAST_OWNER")

    def _membership_event(
        self,
        action: str,
        access: TenantAccess,
        actor: Actor,
        user_id: str,
        *,
        before: Membership,
        after: Membership | None,
    ) -> Any:
        changes: dict[str, Any] = {"before": {"role": before.role.value, "isActive": before.is_active}}
        if after is not None:
            changes["after"] = {"role": after.role.value, "isActive": after.is_active}
        return audit.event(
            action,
            actor=actor,
            at=self.clock.now(),
            tenant_id=access.tenant_id,
            resource="membership",
            resource_id=user_id,
            changes=changes,
        )
