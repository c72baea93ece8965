"""The audit record of a subscription's cancellation, built in one place for every writer that
cancels one: the subscription routes (a user, or the platform) and the payments processor (the
system, when retries are exhausted and `MP_PAYMENT_EXHAUSTED=cancel`)."""

from __future__ import annotations

from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.events import DomainEvent
from meterplex.subscriptions.events import CANCELLED, RESOURCE, public_fields
from meterplex.subscriptions.models import Subscription

CANCEL = "cancel"  # ends now
CANCEL_AT_PERIOD_END = "cancel_at_period_end"


def cancellation_audit(
    actor: Actor, before: Subscription, after: Subscription, action: str = CANCEL
) -> DomainEvent:
    """`before`: the subscription as it stood at the cancel (`as_of` now); `after`: as written."""
    return audit.event(
        CANCELLED,
        actor=actor,
        tenant_id=after.tenant_id,
        resource=RESOURCE,
        resource_id=after.id,
        action=action,
        before=public_fields(before),
        after=public_fields(after),
    )
