"""Subscriptions (SPEC §4)."""

from __future__ import annotations

from datetime import datetime

from meterplex_client.models.base import Body, Model
from meterplex_client.models.catalog import Terms


class SnapshotEntitlement(Terms):
    """One feature of the subscription's frozen plan snapshot."""

    feature_id: str
    feature_key: str
    feature_type: str


class FinalBill(Model):
    cancelled_at: datetime
    period_start: datetime
    period_end: datetime
    price_amount: int
    currency: str
    billable: bool


class Subscription(Model):
    id: str
    tenant_id: str
    plan_id: str
    plan_slug: str
    plan_name: str
    price_id: str
    interval: str
    amount: int
    currency: str
    status: str
    started_at: datetime
    trial_ends_at: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    cancelled_at: datetime | None
    ended_at: datetime | None
    replaced_by: str | None
    final_bill: FinalBill | None
    entitlements: list[SnapshotEntitlement]
    created_at: datetime
    updated_at: datetime


class SubscribeRequest(Body):
    plan_id: str
    price_id: str
    trial_days: int | None = None


class CancelRequest(Body):
    at_period_end: bool = False
