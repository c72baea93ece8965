"""The `subscription.*` domain events: a documented, versioned schema (docs/events.md), not the
storage document, so the table can change without breaking consumers (audit trail, billing,
webhooks).

`data` follows the domain topic's one shape — `{resource, resourceId, changes}` — with `changes`
holding the subscription's public fields as they stand after the write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex.platform.clock import iso
from meterplex.platform.events import DomainEvent
from meterplex.subscriptions.models import Subscription

RESOURCE = "subscription"
CREATED = "subscription.created"
CANCELLED = "subscription.cancelled"  # ended now (cancel, or replaced by a plan change)
CANCEL_SCHEDULED = "subscription.cancel_scheduled"  # will end at its period end
RENEWED = "subscription.renewed"  # billing settled a period and the next one began
ACTIVATED = "subscription.activated"  # the trial ended: TRIALING → ACTIVE, first paid period
ENDED = "subscription.ended"  # a cancel-at-period-end took effect (its last period settled)


def _iso(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None


def public_fields(sub: Subscription) -> dict[str, Any]:
    """The subscription as consumers see it (schema version 1, docs/events.md)."""
    return {
        "id": sub.id,
        "planId": sub.plan_id,
        "planSlug": sub.plan_slug,
        "priceId": sub.price_id,
        "interval": sub.interval.value,
        "amount": sub.amount,
        "currency": sub.currency,
        "status": sub.status.value,
        "startedAt": iso(sub.started_at),
        "trialEndsAt": _iso(sub.trial_ends_at),
        "currentPeriodStart": iso(sub.current_period_start),
        "currentPeriodEnd": iso(sub.current_period_end),
        "cancelAtPeriodEnd": sub.cancel_at_period_end,
        "cancelledAt": _iso(sub.cancelled_at),
        "endedAt": _iso(sub.ended_at),
        "replacedBy": sub.replaced_by,
    }


def subscription_event(type_: str, sub: Subscription, at: datetime, *, actor: str = "system") -> DomainEvent:
    return DomainEvent.new(
        type_,
        tenant_id=sub.tenant_id,
        at=at,
        actor=actor,
        data={"resource": RESOURCE, "resourceId": sub.id, "changes": public_fields(sub)},
    )
