"""The one audit record of a cancellation (subscriptions.audits), whoever cancels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterplex.catalog.models import FeatureType, Interval
from meterplex.catalog.service import CatalogService
from meterplex.platform.audit import SYSTEM, Actor, is_audit_event
from meterplex.platform.clock import FixedClock
from meterplex.subscriptions.audits import CANCEL_AT_PERIOD_END, cancellation_audit
from meterplex.subscriptions.models import as_of, cancelled_now
from meterplex.subscriptions.service import SubscriptionService
from tests.unit.catalog.fakes import FakeCatalogRepository, FakeSubscriptionRepository

START = datetime(2026, 1, 31, 10, tzinfo=UTC)


def subscription_service() -> tuple[SubscriptionService, FakeSubscriptionRepository, str, str]:
    clock = FixedClock(START)
    catalog = CatalogService(FakeCatalogRepository(), clock)
    feature = catalog.create_feature(name="API", lookup_key="api_calls", type=FeatureType.QUOTA)
    plan = catalog.create_plan(name="starter", slug="starter")
    price = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=2900, currency="usd")
    catalog.create_entitlement(plan.id, feature.id, {"limit": 10})
    repo = FakeSubscriptionRepository()
    return SubscriptionService(repo, catalog, clock), repo, plan.id, price.id


def test_cancellation_audit_records_who_which_subscription_and_both_states() -> None:
    service, _, plan_id, price_id = subscription_service()
    sub = service.subscribe("t-1", plan_id=plan_id, price_id=price_id)
    now = START + timedelta(days=3)
    before, after = as_of(sub, now), cancelled_now(sub, now)
    record = cancellation_audit(SYSTEM, before, after)
    assert is_audit_event(record) and record.type == "subscription.cancelled"
    assert (record.tenantId, record.actor) == ("t-1", "system")
    assert (record.data["resource"], record.data["resourceId"], record.data["action"]) == (
        "subscription",
        sub.id,
        "cancel",
    )
    assert (record.data["before"]["status"], record.data["after"]["status"]) == ("ACTIVE", "CANCELLED")
    assert record.data["after"]["cancelledAt"] is not None


def test_the_cancel_routes_stage_the_same_record_with_the_callers_action() -> None:
    service, repo, plan_id, price_id = subscription_service()
    user = Actor("user-7")
    ending = service.subscribe("t-1", plan_id=plan_id, price_id=price_id)
    service.cancel("t-1", ending.id, at_period_end=True, actor=user)
    staged = [e for e in repo.audits if e is not None and e.type == "subscription.cancelled"]
    assert [(e.actor, e.data["action"]) for e in staged] == [("user-7", CANCEL_AT_PERIOD_END)]
