"""Subscription API schemas and the mapping from the domain type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from meterplex.catalog.models import FeatureType, Interval, LimitBehavior, ResetPeriod
from meterplex.catalog.schemas import Timestamp
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.limits import KeyPart
from meterplex.platform.pagination import PageMeta
from meterplex.subscriptions.models import Subscription
from meterplex.subscriptions.standing import ACTIVE, shown_status

# The stored lifecycle status, shown as PAST_DUE or UNPAID while the tenant is in dunning (SPEC §8.2)
StatusOut = Literal["TRIALING", "ACTIVE", "PAST_DUE", "UNPAID", "CANCELLED"]


class SubscribeRequest(ApiModel):
    plan_id: Annotated[KeyPart, Field(max_length=100)]
    price_id: Annotated[KeyPart, Field(max_length=100)]
    trial_days: Annotated[int, Field(ge=1, le=90)] | None = None


class CancelRequest(ApiModel):
    at_period_end: bool = False


class SnapshotOut(ApiResponse):
    feature_id: str
    feature_key: str
    feature_type: FeatureType
    value: bool | None = None
    limit: int | None = None
    limit_behavior: LimitBehavior | None = None
    overage_price: int | None = None
    included_amount: int | None = None
    reset_period: ResetPeriod | None = None


class FinalBillOut(ApiResponse):
    """What the prorated final invoice will bill (the invoice itself comes from billing)."""

    cancelled_at: Timestamp
    period_start: Timestamp
    period_end: Timestamp
    price_amount: int
    currency: str
    billable: bool


class SubscriptionOut(ApiResponse):
    id: str
    tenant_id: str
    plan_id: str
    plan_slug: str
    plan_name: str
    price_id: str
    interval: Interval
    amount: int
    currency: str
    status: StatusOut = Field(description="PAST_DUE / UNPAID: an invoice is in dunning (SPEC §8.2)")
    started_at: Timestamp
    trial_ends_at: Timestamp | None
    current_period_start: Timestamp
    current_period_end: Timestamp
    cancel_at_period_end: bool
    cancelled_at: Timestamp | None
    ended_at: Timestamp | None
    replaced_by: str | None
    final_bill: FinalBillOut | None
    entitlements: list[SnapshotOut] = Field(description="Frozen when the tenant subscribed")
    created_at: Timestamp
    updated_at: Timestamp


class SubscriptionPage(ApiResponse):
    data: list[SubscriptionOut]
    meta: PageMeta


def subscription_out(sub: Subscription, standing: str = ACTIVE) -> SubscriptionOut:
    """`standing`: the tenant's payment standing level (subscriptions.standing)."""
    bill = sub.final_bill
    return SubscriptionOut(
        id=sub.id,
        tenant_id=sub.tenant_id,
        plan_id=sub.plan_id,
        plan_slug=sub.plan_slug,
        plan_name=sub.plan_name,
        price_id=sub.price_id,
        interval=sub.interval,
        amount=sub.amount,
        currency=sub.currency,
        status=shown_status(sub.status.value, sub.is_live, standing),
        started_at=sub.started_at,
        trial_ends_at=sub.trial_ends_at,
        current_period_start=sub.current_period_start,
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
        cancelled_at=sub.cancelled_at,
        ended_at=sub.ended_at,
        replaced_by=sub.replaced_by,
        final_bill=None
        if bill is None
        else FinalBillOut(
            cancelled_at=bill.cancelled_at,
            period_start=bill.period_start,
            period_end=bill.period_end,
            price_amount=bill.price_amount,
            currency=bill.currency,
            billable=bill.billable,
        ),
        entitlements=[
            SnapshotOut(
                feature_id=e.feature_id,
                feature_key=e.feature_key,
                feature_type=e.feature_type,
                value=e.terms.value,
                limit=e.terms.limit,
                limit_behavior=e.terms.limit_behavior,
                overage_price=e.terms.overage_price,
                included_amount=e.terms.included_amount,
                reset_period=e.terms.reset_period,
            )
            for e in sub.entitlements
        ],
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )
