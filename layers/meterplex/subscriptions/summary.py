"""The active-subscription summary other capabilities show (e.g. `GET /tenants/me/context`)."""

from __future__ import annotations

from typing import Any

from meterplex.platform.clock import Clock, business_clock, iso


def active_subscription_summary(tenant_id: str, clock: Clock = business_clock) -> dict[str, Any] | None:
    """The tenant's live subscription as it stands now (trial and period transitions applied), or None."""
    from meterplex.subscriptions.models import as_of
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository
    from meterplex.subscriptions.standing import read_standing, shown_status

    current = DynamoSubscriptionRepository().current(tenant_id)
    if current is None:
        return None
    sub = as_of(current, clock.now())
    if not sub.is_live:
        return None
    return {
        "id": sub.id,
        "planId": sub.plan_id,
        "planSlug": sub.plan_slug,
        "planName": sub.plan_name,
        "status": shown_status(sub.status.value, sub.is_live, read_standing(tenant_id).level),
        "interval": sub.interval.value,
        "amount": sub.amount,
        "currency": sub.currency,
        "currentPeriodStart": iso(sub.current_period_start),
        "currentPeriodEnd": iso(sub.current_period_end),
        "trialEndsAt": iso(sub.trial_ends_at) if sub.trial_ends_at else None,
        "cancelAtPeriodEnd": sub.cancel_at_period_end,
    }
