"""Tenants (SPEC §2). Another tenant's objects answer 404, never 403. Users: `users_service`;
memberships and invitations: `memberships_service`."""

from __future__ import annotations

from typing import Any

from meterplex.identity.auth_service import IdentityDeps
from meterplex.identity.models import Collection, Membership, Tenant, TenantStatus
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.auth import MANAGERS, Principal, Role, ensure_writable
from meterplex.platform.errors import Forbidden, NotFound
from meterplex.platform.ids import new_id


def tenant_not_found() -> NotFound:
    return NotFound("Tenant not found", code="TENANT_NOT_FOUND")


class TenantService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.repo, self.clock = deps.repo, deps.clock

    # ------------------------------------------------------------------ tenants
    def create_tenant(
        self, user_id: str, *, name: str, slug: str, metadata: dict[str, Any], actor: Actor
    ) -> Tenant:
        now = self.clock.now()
        tenant = Tenant(id=new_id(), name=name, slug=slug, metadata=metadata, created_at=now, updated_at=now)
        event = audit.event(
            "tenant.created",
            actor=actor,
            at=now,
            tenant_id=tenant.id,
            resource="tenant",
            resource_id=tenant.id,
            changes={"name": name, "slug": slug, "ownerId": user_id},
        )
        self.repo.create_tenant(tenant, Membership(tenant.id, user_id, Role.OWNER), [event])
        return tenant

    def tenant_of(self, tenant_id: str) -> Tenant:
        """A tenant the caller was already authorized for (e.g. by `tenant_access`)."""
        tenant = self.repo.get_tenant(tenant_id)
        if tenant is None:
            raise tenant_not_found()
        return tenant

    def tenants_of(self, user_id: str) -> list[tuple[Tenant, Role]]:
        memberships = [m for m in self.repo.memberships_of(user_id) if m.is_active]
        found = self.repo.tenants([m.tenant_id for m in memberships])
        pairs = [(found[m.tenant_id], m.role) for m in memberships if m.tenant_id in found]
        return sorted(pairs, key=lambda pair: pair[0].created_at)

    def visible_tenant(self, principal: Principal, tenant_id: str, header_tenant_id: str | None) -> Tenant:
        """A tenant the caller belongs to; 403 if it contradicts x-tenant-id, 404 if not a member."""
        if header_tenant_id and header_tenant_id != tenant_id:
            raise Forbidden("The path tenant differs from x-tenant-id", code="TENANT_MISMATCH")
        if not self._is_member(principal, tenant_id):
            raise tenant_not_found()
        tenant = self.repo.get_tenant(tenant_id)
        if tenant is None:
            raise tenant_not_found()
        return tenant

    def _is_member(self, principal: Principal, tenant_id: str) -> bool:
        """Per the principal — or, when it says no, per the current state: the authorizer's cached
        principal predates a tenant the caller has just created or joined (ADR 0031). Only the
        negative answer costs a read; a revoked membership is bounded by the cache TTL on reads."""
        if tenant_id in principal.memberships:
            return True
        if principal.user_id is None:
            return False
        membership = self.repo.membership(tenant_id, principal.user_id)
        return membership is not None and membership.is_active

    def tenant_by_slug(self, principal: Principal, slug: str, header_tenant_id: str | None) -> Tenant:
        tenant_id = self.repo.tenant_id_by_slug(slug)
        if tenant_id is None or not self._is_member(principal, tenant_id):
            raise tenant_not_found()
        return self.visible_tenant(principal, tenant_id, header_tenant_id)

    def update_tenant(
        self,
        principal: Principal,
        tenant_id: str,
        header_tenant_id: str | None,
        changes: dict[str, Any],
        actor: Actor,
    ) -> Tenant:
        """OWNER/ADMIN: name, metadata; OWNER: status CANCELLED; platform admin: anything, SUSPENDED
        and back to ACTIVE included (SPEC §2). Members cannot change a tenant that is not ACTIVE.
        The write is conditional on the version read here: never a stale overwrite."""
        if principal.is_platform_admin:
            tenant = self._tenant_for_platform_admin(tenant_id, header_tenant_id)
        else:
            tenant = self.visible_tenant(principal, tenant_id, header_tenant_id)
            self._check_member_may_update(principal.memberships[tenant_id], changes)
            ensure_writable(principal, tenant_id)
        read_version, before = tenant.version, tenant.status
        if "name" in changes:
            tenant.name = changes["name"]
        if "metadata" in changes:
            tenant.metadata = changes["metadata"]
        if "status" in changes:
            tenant.status = TenantStatus(changes["status"])
        if "collection" in changes:
            tenant.collection = Collection(changes["collection"])
        now = self.clock.now()
        tenant.updated_at = now
        recorded = changes | ({"statusBefore": before.value} if "status" in changes else {})
        event = audit.event(
            "tenant.updated",
            actor=actor,
            at=now,
            tenant_id=tenant_id,
            resource="tenant",
            resource_id=tenant_id,
            changes=recorded,
        )
        self.repo.update_tenant(tenant, read_version, [event])
        return tenant

    def _tenant_for_platform_admin(self, tenant_id: str, header_tenant_id: str | None) -> Tenant:
        if header_tenant_id and header_tenant_id != tenant_id:
            raise Forbidden("The path tenant differs from x-tenant-id", code="TENANT_MISMATCH")
        return self.tenant_of(tenant_id)

    @staticmethod
    def _check_member_may_update(role: Role, changes: dict[str, Any]) -> None:
        if role not in MANAGERS:
            raise Forbidden("Only an OWNER or ADMIN may update the tenant", code="INSUFFICIENT_ROLE")
        status = changes.get("status")
        if status is None:
            return
        if TenantStatus(status) is not TenantStatus.CANCELLED:
            raise Forbidden(
                "Only a platform admin may suspend a tenant or make it active again",
                code="PLATFORM_ADMIN_REQUIRED",
            )
        if role is not Role.OWNER:
            raise Forbidden("Only an OWNER may cancel the tenant", code="INSUFFICIENT_ROLE")
