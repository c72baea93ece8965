"""Subscriptions (SPEC §4): subscribe (a live one is a plan change), cancel, history."""

from __future__ import annotations

from meterplex_client.endpoint import Args, M, Resource, endpoint
from meterplex_client.models.base import Page
from meterplex_client.models.subscriptions import CancelRequest, SubscribeRequest, Subscription
from meterplex_client.resources.paging import page_params


class Subscriptions(Resource[M]):
    @endpoint("POST", "/subscriptions", response=Subscription, body=SubscribeRequest)
    def create(self, plan_id: str, price_id: str, *, trial_days: int | None = None) -> Args:
        return Args(json=SubscribeRequest(plan_id=plan_id, price_id=price_id, trial_days=trial_days))

    @endpoint("GET", "/subscriptions/active", response=Subscription)
    def active(self) -> Args:
        """The ACTIVE/TRIALING subscription (`NotFoundError` when none)."""
        return Args()

    @endpoint("GET", "/subscriptions", response=Page[Subscription])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        """History, newest first."""
        return Args(params=page_params(page, limit))

    @endpoint("POST", "/subscriptions/{subscriptionId}/cancel", response=Subscription, body=CancelRequest)
    def cancel(self, subscription_id: str, *, at_period_end: bool = False) -> Args:
        return Args.of(subscription_id, json=CancelRequest(at_period_end=at_period_end))
