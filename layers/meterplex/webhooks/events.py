"""The audit events of webhook endpoints and their deliveries (ADR 0090, ADR 0093; docs/events.md).

Each write of an endpoint (create, update, rotate-secret, delete; `disable` by the platform) and each
delivery a member asks for (a test event, a manual retry) is ONE audit event, staged in the write's
transaction. `before`/`after` are the public fields — never a secret, sealed or not: the secret is
not among them, and `platform.audit` redacts any secret-looking name on top of that.
"""

from __future__ import annotations

from typing import Any

from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.clock import iso
from meterplex.platform.events import DomainEvent
from meterplex.webhooks.models import Delivery, Endpoint

RESOURCE = "webhook_endpoint"
DELIVERY_RESOURCE = "webhook_delivery"
CREATED = "webhook_endpoint.created"
UPDATED = "webhook_endpoint.updated"
DISABLED = "webhook_endpoint.disabled"  # by the platform: 410, or failing for 5 days
SECRET_ROTATED = "webhook_endpoint.secret_rotated"
DELETED = "webhook_endpoint.deleted"
TEST_SENT = "webhook_delivery.test_sent"
RETRIED = "webhook_delivery.retried"

# Verbs the generic past-tense map does not know (SPEC §8.4: the action is the verb).
_ACTIONS = {
    SECRET_ROTATED: "rotate_secret",
    DISABLED: "disable",
    TEST_SENT: "send_test",
    RETRIED: "retry",
}


def public_fields(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "eventTypes": [t.value for t in endpoint.event_types],
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabledReason": endpoint.disabled_reason.value if endpoint.disabled_reason else None,
    }


def _rotation(endpoint: Endpoint) -> dict[str, Any]:
    """When the signing secret was made and until when the previous one signs too (named so that
    no key looks like a secret: these are times, and redacting them would hide what changed)."""
    return {
        "madeAt": iso(endpoint.secret_created_at) if endpoint.secret_created_at else None,
        "previousValidUntil": iso(endpoint.previous_secret_expires_at)
        if endpoint.previous_secret_expires_at
        else None,
    }


def endpoint_audit(type_: str, actor: Actor, before: Endpoint | None, after: Endpoint | None) -> DomainEvent:
    """The audit event of one endpoint write (`before` None: a create; `after` None: a delete)."""
    subject = after or before
    assert subject is not None
    states = [public_fields(e) if e is not None else None for e in (before, after)]
    if type_ == SECRET_ROTATED:
        for state, endpoint in zip(states, (before, after), strict=True):
            if state is not None and endpoint is not None:
                state["rotation"] = _rotation(endpoint)
    return _audit(type_, actor, RESOURCE, subject.tenant_id, subject.id, states[0], states[1])


def delivery_fields(delivery: Delivery) -> dict[str, Any]:
    """A delivery's state as its audit shows it (not its payload: the event's body, up to the size
    of the event; the delivery log serves it)."""
    return {
        "id": delivery.id,
        "endpointId": delivery.endpoint_id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type.value,
        "status": delivery.status.value,
        "step": delivery.step,
        "nextAttemptAt": iso(delivery.next_attempt_at) if delivery.next_attempt_at else None,
        "manual": delivery.manual,
    }


def delivery_audit(type_: str, actor: Actor, before: Delivery | None, after: Delivery) -> DomainEvent:
    """The audit event of a delivery a member asked for: a test event (`before` None) or a retry."""
    before_fields = delivery_fields(before) if before is not None else None
    return _audit(
        type_, actor, DELIVERY_RESOURCE, after.tenant_id, after.id, before_fields, delivery_fields(after)
    )


def _audit(
    type_: str,
    actor: Actor,
    resource: str,
    tenant_id: str,
    resource_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> DomainEvent:
    return audit.event(
        type_,
        actor=actor,
        tenant_id=tenant_id,
        resource=resource,
        resource_id=resource_id,
        before=before,
        after=after,
        action=_ACTIONS.get(type_),
    )
