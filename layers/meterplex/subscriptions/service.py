"""Subscription rules (SPEC §4), pure: repositories are ports, time comes from a `Clock`.

"At most one ACTIVE/TRIALING subscription per tenant" is enforced by the repository with a
conditional *current-subscription pointer*; a plan change cancels the old subscription and starts
the new one in one transaction (ADR 0012). A trial is granted at most once per tenant: the start of
a trialing subscription also writes the tenant's trial marker, conditional on its absence (ADR
0034). A plan change during a trial ends the trial; the new subscription starts paid unless a trial
is asked for — which the marker then refuses. Private plans (`isPublic: false`) are subscribed to
only by a platform admin acting for the tenant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from meterplex.catalog.models import Entitlement, Plan, Price
from meterplex.periods import billing_period_at
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.clock import Clock, business_clock
from meterplex.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from meterplex.platform.events import DomainEvent
from meterplex.platform.ids import new_id
from meterplex.subscriptions.audits import CANCEL_AT_PERIOD_END, cancellation_audit
from meterplex.subscriptions.events import public_fields
from meterplex.subscriptions.models import (
    EntitlementSnapshot,
    Subscription,
    SubscriptionStatus,
    as_of,
    cancelled_at_period_end,
    cancelled_now,
)

MAX_TRIAL_DAYS = 90


class CatalogReader(Protocol):
    """What subscribing reads from the catalog (CatalogService satisfies it)."""

    def get_plan(self, plan_id: str) -> Plan: ...  # NotFound
    def list_prices(self, plan_id: str) -> list[Price]: ...
    def list_entitlements(self, plan_id: str) -> list[Entitlement]: ...


class SubscriptionRepository(Protocol):
    def current(self, tenant_id: str) -> Subscription | None: ...  # what the pointer names
    def get(self, tenant_id: str, subscription_id: str) -> Subscription | None: ...
    def history(self, tenant_id: str) -> list[Subscription]: ...  # newest first

    def start(self, new: Subscription, replaced: Subscription | None, audit: DomainEvent) -> None:
        """Write `new` (and the cancelled `replaced`) iff the pointer still names `replaced`; a
        trialing `new` also claims the tenant's one trial.

        Raises Conflict SUBSCRIPTION_CHANGED when another change won the race, Conflict
        TRIAL_ALREADY_USED when the tenant's trial was claimed before.
        """
        ...

    def cancel(self, sub: Subscription, audit: DomainEvent) -> None: ...  # immediate: pointer, grants
    def schedule_end(self, sub: Subscription, audit: DomainEvent) -> None: ...  # grants end then


def snapshot_of(entitlements: list[Entitlement]) -> list[EntitlementSnapshot]:
    return [
        EntitlementSnapshot(
            feature_id=e.feature_id,
            feature_key=e.feature_lookup_key,
            feature_type=e.feature_type,
            terms=e.terms,
        )
        for e in sorted(entitlements, key=lambda e: e.feature_lookup_key)
    ]


def subscription_not_found(subscription_id: str) -> NotFound:
    return NotFound(f"Subscription {subscription_id} not found", code="SUBSCRIPTION_NOT_FOUND")


class SubscriptionService:
    def __init__(
        self, repository: SubscriptionRepository, catalog: CatalogReader, clock: Clock = business_clock
    ) -> None:
        self._repo = repository
        self._catalog = catalog
        self._clock = clock

    def subscribe(
        self,
        tenant_id: str,
        *,
        plan_id: str,
        price_id: str,
        trial_days: int | None = None,
        by_platform_admin: bool = False,
        actor: Actor = audit.SYSTEM,
    ) -> Subscription:
        """Start a subscription; a live one is a plan change: cancelled now, billed prorated."""
        plan = self._catalog.get_plan(plan_id)
        if not plan.is_active:
            raise InvalidInput(f"Plan {plan_id} is archived", code="PLAN_ARCHIVED")
        if not plan.is_public and not by_platform_admin:
            raise Forbidden(
                f"Plan {plan_id} is private: only a platform admin can subscribe a tenant to it",
                code="PLAN_NOT_PUBLIC",
            )
        price = next((p for p in self._catalog.list_prices(plan_id) if p.id == price_id), None)
        if price is None:
            raise NotFound(f"Price {price_id} not found on plan {plan_id}", code="PRICE_NOT_FOUND")
        if not price.is_active:
            raise InvalidInput(f"Price {price_id} is no longer offered", code="PRICE_INACTIVE")
        if trial_days is not None and not 1 <= trial_days <= MAX_TRIAL_DAYS:
            raise InvalidInput(f"trialDays must be between 1 and {MAX_TRIAL_DAYS}", code="VALIDATION_FAILED")
        snapshot = snapshot_of(self._catalog.list_entitlements(plan_id))

        now = self._clock.now()
        trial_ends_at = now + timedelta(days=trial_days) if trial_days else None
        start, end = billing_period_at(price.interval.value, now, trial_ends_at, now)
        new = Subscription(
            id=new_id(),
            tenant_id=tenant_id,
            plan_id=plan.id,
            plan_slug=plan.slug,
            plan_name=plan.name,
            price_id=price.id,
            interval=price.interval,
            amount=price.amount,
            currency=price.currency,
            status=SubscriptionStatus.TRIALING if trial_ends_at else SubscriptionStatus.ACTIVE,
            started_at=now,
            trial_ends_at=trial_ends_at,
            current_period_start=start,
            current_period_end=end,
            created_at=now,
            updated_at=now,
            entitlements=snapshot,
        )
        current = self._repo.current(tenant_id)
        replaced = None
        if current is not None and as_of(current, now).is_live:
            replaced = cancelled_now(current, now, replaced_by=new.id)
        elif current is not None:
            replaced = current  # ended at its period end: only the pointer moves
        changing = replaced is not None and replaced.replaced_by == new.id
        record = audit.event(
            "subscription.created",
            actor=actor,
            tenant_id=tenant_id,
            resource="subscription",
            resource_id=new.id,
            action="change_plan" if changing else "create",
            before=public_fields(replaced) if changing and replaced else None,
            after=public_fields(new),
        )
        self._repo.start(new, replaced, record)
        return new

    def active(self, tenant_id: str) -> Subscription:
        now = self._clock.now()
        current = self._repo.current(tenant_id)
        if current is None or not as_of(current, now).is_live:
            raise NotFound("The tenant has no active subscription", code="NO_ACTIVE_SUBSCRIPTION")
        return as_of(current, now)

    def history(self, tenant_id: str) -> list[Subscription]:
        now = self._clock.now()
        history = sorted(self._repo.history(tenant_id), key=lambda s: (s.created_at, s.id), reverse=True)
        return [as_of(s, now) for s in history]

    def cancel(
        self,
        tenant_id: str,
        subscription_id: str,
        *,
        at_period_end: bool = False,
        actor: Actor = audit.SYSTEM,
    ) -> Subscription:
        sub = self._repo.get(tenant_id, subscription_id)
        if sub is None:
            raise subscription_not_found(subscription_id)
        now = self._clock.now()
        current = as_of(sub, now)
        if not current.is_live:
            raise Conflict(
                f"Subscription {subscription_id} is already cancelled", code="SUBSCRIPTION_NOT_ACTIVE"
            )
        if at_period_end:
            if current.cancel_at_period_end:
                return current
            ending = cancelled_at_period_end(sub, now)
            self._repo.schedule_end(ending, cancellation_audit(actor, current, ending, CANCEL_AT_PERIOD_END))
            return ending
        cancelled = cancelled_now(sub, now)
        self._repo.cancel(cancelled, cancellation_audit(actor, current, cancelled))
        return cancelled
