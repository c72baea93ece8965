"""Subscription rules (SPEC §4): snapshot, one live subscription, plan change, trials, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meterplex.catalog.models import CatalogStatus, FeatureType, Interval, Plan, Price
from meterplex.catalog.service import CatalogService
from meterplex.platform.clock import FixedClock
from meterplex.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from meterplex.subscriptions.models import SubscriptionStatus
from meterplex.subscriptions.service import SubscriptionService
from tests.unit.catalog.fakes import FakeCatalogRepository, FakeSubscriptionRepository

JAN31 = datetime(2026, 1, 31, 10, tzinfo=UTC)
TENANT = "tenant-1"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(JAN31)
        self.catalog = CatalogService(FakeCatalogRepository(), self.clock)
        self.repo = FakeSubscriptionRepository()
        self.subs = SubscriptionService(self.repo, self.catalog, self.clock)
        self.api = self.catalog.create_feature(name="API", lookup_key="api_calls", type=FeatureType.QUOTA)

    def plan(self, slug: str, limit: int = 1000, amount: int = 2900) -> tuple[Plan, Price]:
        plan = self.catalog.create_plan(name=slug, slug=slug)
        price = self.catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=amount, currency="usd")
        self.catalog.create_entitlement(plan.id, self.api.id, {"limit": limit})
        return plan, price

    def advance(self, **delta: float) -> None:
        self.clock.set(self.clock.now() + timedelta(**delta))


@pytest.fixture
def world() -> World:
    return World()


def test_subscribe_freezes_the_entitlement_snapshot(world: World) -> None:
    plan, price = world.plan("starter", limit=1000)
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    ent = world.catalog.list_entitlements(plan.id)[0]
    world.catalog.update_entitlement(plan.id, ent.id, {"limit": 5})
    assert world.subs.active(TENANT).entitlements[0].terms.limit == 1000
    assert sub.status is SubscriptionStatus.ACTIVE


def test_periods_run_jan31_feb28_mar31(world: World) -> None:
    plan, price = world.plan("starter")
    world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    first = world.subs.active(TENANT)
    assert (first.current_period_start, first.current_period_end) == (
        JAN31,
        datetime(2026, 2, 28, 10, tzinfo=UTC),
    )
    world.clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    second = world.subs.active(TENANT)
    assert second.current_period_end == datetime(2026, 3, 31, 10, tzinfo=UTC)


def test_trial_is_trialing_until_trial_end_then_active_with_paid_period_from_there(world: World) -> None:
    plan, price = world.plan("pro")
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id, trial_days=14)
    trial_end = JAN31 + timedelta(days=14)
    assert (sub.status, sub.trial_ends_at, sub.current_period_end) == (
        SubscriptionStatus.TRIALING,
        trial_end,
        trial_end,
    )
    world.clock.set(trial_end)
    active = world.subs.active(TENANT)
    assert active.status is SubscriptionStatus.ACTIVE
    assert (active.current_period_start, active.current_period_end) == (
        trial_end,
        datetime(2026, 3, 14, 10, tzinfo=UTC),
    )


def test_subscribe_again_is_a_plan_change_old_cancelled_with_final_bill(world: World) -> None:
    starter, starter_price = world.plan("starter", amount=2900)
    pro, pro_price = world.plan("pro", amount=9900)
    old = world.subs.subscribe(TENANT, plan_id=starter.id, price_id=starter_price.id)
    world.advance(days=7)
    new = world.subs.subscribe(TENANT, plan_id=pro.id, price_id=pro_price.id)
    replaced = world.repo.get(TENANT, old.id)
    assert replaced is not None
    assert (replaced.status, replaced.replaced_by, replaced.cancelled_at) == (
        SubscriptionStatus.CANCELLED,
        new.id,
        JAN31 + timedelta(days=7),
    )
    assert replaced.final_bill is not None
    assert (
        replaced.final_bill.period_start,
        replaced.final_bill.price_amount,
        replaced.final_bill.billable,
    ) == (
        JAN31,
        2900,
        True,
    )
    assert world.subs.active(TENANT).id == new.id
    assert [s.id for s in world.subs.history(TENANT)] == [new.id, old.id]


def test_subscribe_race_loser_gets_conflict(world: World) -> None:
    plan, price = world.plan("starter")
    world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    world.repo.pointer[TENANT] = "someone-else"  # another request moved the pointer meanwhile
    world.repo.subs["someone-else"] = world.repo.history(TENANT)[0]
    with pytest.raises(Conflict):
        world.repo.start(world.repo.history(TENANT)[0], None)


def test_subscribe_archived_plan_or_inactive_price_is_400_unknown_is_404(world: World) -> None:
    plan, price = world.plan("starter")
    with pytest.raises(NotFound):
        world.subs.subscribe(TENANT, plan_id=plan.id, price_id="nope")
    with pytest.raises(NotFound):
        world.subs.subscribe(TENANT, plan_id="nope", price_id=price.id)
    world.catalog.deactivate_price(plan.id, price.id)
    with pytest.raises(InvalidInput) as error:
        world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    assert error.value.code == "PRICE_INACTIVE"
    world.catalog.update_plan(plan.id, {"status": CatalogStatus.ARCHIVED})
    with pytest.raises(InvalidInput):
        world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)


def test_cancel_now_ends_it_and_records_the_final_bill(world: World) -> None:
    plan, price = world.plan("starter")
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    world.advance(days=3)
    cancelled = world.subs.cancel(TENANT, sub.id)
    assert cancelled.status is SubscriptionStatus.CANCELLED
    assert cancelled.final_bill is not None and cancelled.final_bill.cancelled_at == JAN31 + timedelta(days=3)
    with pytest.raises(NotFound):
        world.subs.active(TENANT)
    with pytest.raises(Conflict) as error:
        world.subs.cancel(TENANT, sub.id)
    assert error.value.code == "SUBSCRIPTION_NOT_ACTIVE"


def test_cancel_at_period_end_stays_active_until_then(world: World) -> None:
    plan, price = world.plan("starter")
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    ending = world.subs.cancel(TENANT, sub.id, at_period_end=True)
    assert (ending.status, ending.cancel_at_period_end, ending.ended_at) == (
        SubscriptionStatus.ACTIVE,
        True,
        datetime(2026, 2, 28, 10, tzinfo=UTC),
    )
    assert ending.final_bill is None  # the last invoice is a full one
    world.clock.set(datetime(2026, 2, 28, 10, tzinfo=UTC))
    with pytest.raises(NotFound):
        world.subs.active(TENANT)


def test_cancel_during_trial_is_not_billable(world: World) -> None:
    plan, price = world.plan("pro")
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id, trial_days=14)
    cancelled = world.subs.cancel(TENANT, sub.id)
    assert cancelled.final_bill is not None and not cancelled.final_bill.billable


def test_cancel_of_another_tenants_subscription_is_404(world: World) -> None:
    plan, price = world.plan("starter")
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    with pytest.raises(NotFound):
        world.subs.cancel("other-tenant", sub.id)


def test_a_trial_is_granted_once_per_tenant(world: World) -> None:
    plan, price = world.plan("pro")
    world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id, trial_days=14)
    with pytest.raises(Conflict) as refused:
        world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id, trial_days=90)
    assert refused.value.code == "TRIAL_ALREADY_USED"
    paid = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)  # the plan change starts paid
    assert paid.status is SubscriptionStatus.ACTIVE and paid.trial_ends_at is None


def test_a_private_plan_needs_a_platform_admin(world: World) -> None:
    plan, price = world.plan("secret")
    world.catalog.update_plan(plan.id, {"is_public": False})
    with pytest.raises(Forbidden):
        world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id)
    sub = world.subs.subscribe(TENANT, plan_id=plan.id, price_id=price.id, by_platform_admin=True)
    assert sub.plan_id == plan.id
