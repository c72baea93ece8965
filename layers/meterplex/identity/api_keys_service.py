"""API keys (SPEC §2): shown once, stored as SHA-256 with a display prefix, revocable, expiring."""

from __future__ import annotations

from datetime import timedelta

from meterplex.identity import tokens
from meterplex.identity.auth_service import IdentityDeps
from meterplex.identity.models import ApiKey
from meterplex.identity.tenants_service import TenantService
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.auth import TenantAccess
from meterplex.platform.errors import NotFound
from meterplex.platform.ids import new_id


class ApiKeyService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.repo, self.clock = deps.repo, deps.clock
        self.tenants = TenantService(deps)

    def create(
        self, access: TenantAccess, *, name: str, expires_in_days: int | None, actor: Actor
    ) -> tuple[ApiKey, str]:
        """The stored key and the full secret, which is never retrievable again."""
        self.tenants.tenant_of(access.tenant_id)  # 404 for a tenant that does not exist
        now = self.clock.now()
        secret = tokens.new_api_key()
        key = ApiKey(
            id=new_id(),
            tenant_id=access.tenant_id,
            name=name,
            prefix=tokens.api_key_display_prefix(secret),
            key_hash=tokens.sha256_hex(secret),
            created_at=now,
            created_by=access.actor,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        event = audit.event(
            "api_key.created",
            actor=actor,
            at=now,
            tenant_id=access.tenant_id,
            resource="api_key",
            resource_id=key.id,
            changes={"name": name, "prefix": key.prefix, "expiresInDays": expires_in_days},
        )
        self.repo.save_api_key(key, [event])
        return key, secret

    def list(self, access: TenantAccess) -> list[ApiKey]:
        return sorted(self.repo.api_keys_of(access.tenant_id), key=lambda k: k.created_at, reverse=True)

    def revoke(self, access: TenantAccess, key_id: str, actor: Actor) -> ApiKey:
        key = next((k for k in self.repo.api_keys_of(access.tenant_id) if k.id == key_id), None)
        if key is None:
            raise NotFound("API key not found", code="API_KEY_NOT_FOUND")
        now = self.clock.now()
        if key.revoked_at is None:
            event = audit.event(
                "api_key.revoked",
                actor=actor,
                at=now,
                tenant_id=access.tenant_id,
                resource="api_key",
                resource_id=key.id,
            )
            self.repo.revoke_api_key(key, now, [event])
            key.revoked_at = now
        return key
