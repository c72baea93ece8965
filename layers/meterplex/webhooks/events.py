"""The `webhook_endpoint.*` domain events (audit trail; docs/events.md): the endpoint's public
fields after the change — never a secret, sealed or not."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex.platform.clock import iso
from meterplex.platform.events import DomainEvent
from meterplex.webhooks.models import Endpoint

RESOURCE = "webhook_endpoint"
CREATED = "webhook_endpoint.created"
UPDATED = "webhook_endpoint.updated"
DISABLED = "webhook_endpoint.disabled"  # by the platform: 410, or failing for 5 days
SECRET_ROTATED = "webhook_endpoint.secret_rotated"
DELETED = "webhook_endpoint.deleted"


def public_fields(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "eventTypes": [t.value for t in endpoint.event_types],
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason.value if endpoint.disabled_reason else None,
    }


def endpoint_event(type_: str, endpoint: Endpoint, at: datetime, *, actor: str = "system") -> DomainEvent:
    changes = public_fields(endpoint)
    if endpoint.previous_secret_expires_at is not None and type_ == SECRET_ROTATED:
        changes["previousSecretExpiresAt"] = iso(endpoint.previous_secret_expires_at)
    return DomainEvent.new(
        type_,
        tenant_id=endpoint.tenant_id,
        at=at,
        actor=actor,
        data={"resource": RESOURCE, "resourceId": endpoint.id, "changes": changes},
    )
