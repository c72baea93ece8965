"""Subscription domain types and their lazy, pure transitions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from meterplex.catalog.models import FeatureType, Interval, Terms
from meterplex.periods import billing_period_at


class SubscriptionStatus(StrEnum):
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"


LIVE = frozenset({SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE})


@dataclass(frozen=True)
class EntitlementSnapshot:
    """A plan entitlement frozen into a subscription: catalog edits never reach it."""

    feature_id: str
    feature_key: str
    feature_type: FeatureType
    terms: Terms


@dataclass(frozen=True)
class FinalBill:
    """What the prorated final invoice of a cancelled subscription needs (billing issue)."""

    cancelled_at: datetime
    period_start: datetime
    period_end: datetime
    price_amount: int  # the full period's base fee, cents
    currency: str
    billable: bool  # False when cancelled during a (free) trial


@dataclass
class Subscription:
    id: str
    tenant_id: str
    plan_id: str
    plan_slug: str
    plan_name: str
    price_id: str
    interval: Interval
    amount: int
    currency: str
    status: SubscriptionStatus
    started_at: datetime
    trial_ends_at: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    created_at: datetime
    updated_at: datetime
    entitlements: list[EntitlementSnapshot] = field(default_factory=list)
    cancel_at_period_end: bool = False
    cancelled_at: datetime | None = None
    ended_at: datetime | None = None  # when it stopped granting anything
    replaced_by: str | None = None  # the subscription of a plan change
    final_bill: FinalBill | None = None
    # Billing's position: the end of the last span billing settled (invoiced, or the free trial).
    # Moved only by billing (`settled`), never by reads or cancellations (ADR 0043).
    billed_through: datetime | None = None  # None: nothing settled yet (= started_at)

    @property
    def billing_position(self) -> datetime:
        return self.billed_through or self.started_at

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


def as_of(sub: Subscription, at: datetime) -> Subscription:
    """The subscription as it stands at `at`, applying the time-driven transitions lazily.

    TRIALING becomes ACTIVE at `trialEndsAt`; periods roll anchor to anchor; a cancel-at-period-end
    subscription becomes CANCELLED when that period ends. Stored items are advanced by writes (and
    by the billing scheduler); readers never depend on that having happened yet (ADR 0012).
    """
    if not sub.is_live:
        return sub
    if sub.cancel_at_period_end and sub.ended_at is not None and at >= sub.ended_at:
        return replace(sub, status=SubscriptionStatus.CANCELLED)
    start, end = billing_period_at(sub.interval.value, sub.started_at, sub.trial_ends_at, at)
    status = sub.status
    if status is SubscriptionStatus.TRIALING and sub.trial_ends_at is not None and at >= sub.trial_ends_at:
        status = SubscriptionStatus.ACTIVE
    return replace(sub, status=status, current_period_start=start, current_period_end=end)


def cancelled_now(sub: Subscription, at: datetime, *, replaced_by: str | None = None) -> Subscription:
    """`sub` cancelled immediately at `at`, with what its prorated final invoice will need."""
    current = as_of(sub, at)
    trialing = current.status is SubscriptionStatus.TRIALING
    bill = FinalBill(
        cancelled_at=at,
        period_start=current.current_period_start,
        period_end=current.current_period_end,
        price_amount=0 if trialing else sub.amount,
        currency=sub.currency,
        billable=not trialing,
    )
    return replace(
        current,
        status=SubscriptionStatus.CANCELLED,
        cancelled_at=at,
        ended_at=at,
        replaced_by=replaced_by,
        final_bill=bill,
        updated_at=at,
    )


def cancelled_at_period_end(sub: Subscription, at: datetime) -> Subscription:
    """`sub` kept live until its current period (or trial) ends, then over; billed in full."""
    current = as_of(sub, at)
    return replace(
        current,
        cancel_at_period_end=True,
        cancelled_at=at,
        ended_at=current.current_period_end,
        updated_at=at,
    )


# -- billing steps (ADR 0043) -------------------------------------------------------------------
class StepKind(StrEnum):
    TRIAL = "TRIAL"  # the free trial ends: no invoice, TRIALING → ACTIVE
    FULL = "FULL"  # a whole period, invoiced in full
    FINAL = "FINAL"  # the period a cancellation cut short: prorated final invoice


@dataclass(frozen=True)
class BillingStep:
    """The next span billing must settle; it is due at `bills_until`."""

    kind: StepKind
    period_start: datetime
    period_end: datetime  # the full period's end (its anchor)
    bills_until: datetime  # period_end, or when a cancellation cut the period short (FINAL)
    terminal: bool  # nothing is due after it
    billable: bool  # False inside the free trial (nothing is invoiced)

    @property
    def due_at(self) -> datetime:
        return self.bills_until


def next_billing_step(sub: Subscription) -> BillingStep | None:
    """What billing must do next for `sub` (whatever the time), or None once it is settled."""
    position = sub.billing_position
    if sub.ended_at is not None and position >= sub.ended_at:
        return None
    start, end = billing_period_at(sub.interval.value, sub.started_at, sub.trial_ends_at, position)
    in_trial = sub.trial_ends_at is not None and position < sub.trial_ends_at
    if sub.ended_at is not None and sub.ended_at < end:
        return BillingStep(StepKind.FINAL, start, end, sub.ended_at, terminal=True, billable=not in_trial)
    terminal = sub.ended_at is not None and sub.ended_at <= end
    kind = StepKind.TRIAL if in_trial else StepKind.FULL
    return BillingStep(kind, start, end, end, terminal=terminal, billable=not in_trial)


def billing_due_at(sub: Subscription) -> datetime | None:
    step = next_billing_step(sub)
    return step.due_at if step else None


def settled(sub: Subscription, step: BillingStep, at: datetime) -> Subscription:
    """`sub` after billing settled `step` at `at`: position moved, time-driven statuses stored."""
    status = sub.status
    if step.terminal:
        status = SubscriptionStatus.CANCELLED
    elif status is SubscriptionStatus.TRIALING and step.kind is StepKind.TRIAL:
        status = SubscriptionStatus.ACTIVE
    after = replace(sub, status=status, billed_through=step.bills_until, updated_at=at)
    if not step.terminal:
        start, end = billing_period_at(
            sub.interval.value, sub.started_at, sub.trial_ends_at, step.bills_until
        )
        after = replace(after, current_period_start=start, current_period_end=end)
    return after
