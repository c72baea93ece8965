"""The usage-counter port (entitlements.counters) against moto server: what billing reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.catalog.dependencies import catalog_service
from meterplex.entitlements.counters import Counter, UsageCounters, window_text
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.periods import usage_window_for
from meterplex.platform.clock import FixedClock
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.catalog.builders import build_plan

pytestmark = pytest.mark.usefixtures("moto_endpoint")
START = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def test_used_reads_each_window_from_the_grant_or_its_archive() -> None:
    # GIVEN a subscription started Jan 31 with a METERED feature, 7 units used in its first window
    # and 5 in its second (the first consume of February's window archived January's)
    tenant, plan = (
        str(uuid.uuid4()),
        build_plan({"calls": ("METERED", {"includedAmount": 1, "overagePrice": 5})}),
    )
    clock = FixedClock(START)
    sub = SubscriptionService(DynamoSubscriptionRepository(), catalog_service(), clock).subscribe(
        tenant, plan_id=plan.id, price_id=plan.monthly_price_id
    )
    feature = plan.features["calls"]
    hot_path = EntitlementService(GrantStore(), clock)
    hot_path.consume(tenant, feature, 7)
    clock.set(START + timedelta(days=30))  # Mar 2: the second window (Feb 28 → Mar 31)
    hot_path.consume(tenant, feature, 5)

    def counter(at: datetime) -> Counter:
        start, _ = usage_window_for("MONTHLY", sub.started_at, None, at)
        return Counter(tenant, feature, sub.id, window_text(start, None)[0])

    first, second = counter(START), counter(START + timedelta(days=30))
    third = counter(START + timedelta(days=62))
    # WHEN billing reads the three windows through the port
    used = UsageCounters(load(CoreTableSettings).core_table).used([first, second, third])
    # THEN the archived window, the grant's window and a window with no usage yet
    assert used == {first: 7, second: 5, third: 0}
    assert first.window_start == "2026-01-31T10:00:00.000Z"
    assert second.window_start == "2026-02-28T10:00:00.000Z"
