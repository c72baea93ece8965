"""The high-throughput path (ADR 0071) with real threads against the local cloud's DynamoDB (moto
server, writes linearized as DynamoDB's): each worker thread is one execution environment — its
own EntitlementService, so its own leases and shard view — consuming one tenant's feature at once.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from meterplex.entitlements.counters import Counter, UsageCounters
from meterplex.entitlements.keys import COUNTER_SHARDS
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.platform.clock import iso, system_clock
from meterplex.platform.errors import Forbidden
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository
from meterplex.subscriptions.service import SubscriptionService
from tests.integration.billing.helpers import billing
from tests.integration.catalog.builders import build_plan
from tests.integration.catalog.handlers import serialize_moto_writes

pytestmark = pytest.mark.usefixtures("moto_endpoint")
WORKERS = 50


def high_throughput_grant(kind: str, terms: dict[str, Any]) -> tuple[str, str, str]:
    """(tenant, feature, subscription id) of a fresh subscription whose grant is switched to the
    high-throughput path by setting."""
    from meterplex.catalog.dependencies import catalog_service

    tenant, plan = str(uuid.uuid4()), build_plan({"f": (kind, terms)})
    sub = SubscriptionService(DynamoSubscriptionRepository(), catalog_service()).subscribe(
        tenant, plan_id=plan.id, price_id=plan.monthly_price_id
    )
    feature = plan.features["f"]
    switched = GrantStore().set_throughput(tenant, feature)
    assert switched is not None and switched.high_throughput
    return tenant, feature, sub.id


def run_workers(work: Callable[[EntitlementService], Any]) -> list[Any]:
    """`work(service)` in WORKERS threads at once, each with a service (environment) of its own."""
    serialize_moto_writes()
    barrier = threading.Barrier(WORKERS)
    results: list[Any] = [None] * WORKERS
    errors: list[BaseException] = []

    def run(index: int) -> None:
        # business time = real time here (the test clock is off, as in production): reading the
        # test clock would cost every consume a GetItem outside an invocation's clock scope
        service = EntitlementService(GrantStore(), system_clock)
        barrier.wait()
        try:
            results[index] = work(service)
        except BaseException as error:  # reported below, whatever it is
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    return results


def test_50_workers_get_exactly_a_hard_limit_of_100000_through_leases_never_more() -> None:
    # GIVEN a HARD limit of 100,000 on a grant switched to the high-throughput path
    limit = 100_000
    tenant, feature, _ = high_throughput_grant("QUOTA", {"limit": limit})

    def consume_until_refused(service: EntitlementService) -> tuple[int, int]:
        granted, highest_used = 0, 0
        while True:
            try:
                answer = service.consume(tenant, feature, 1)
            except Forbidden as refused:
                assert refused.code == "QUOTA_EXCEEDED"
                return granted, highest_used
            granted += 1
            highest_used = max(highest_used, answer["used"])

    # WHEN 50 environments consume one unit at a time until refused
    results = run_workers(consume_until_refused)
    # THEN exactly the limit was granted, no answer ever reported more, and the grant says so
    assert sum(granted for granted, _ in results) == limit
    assert max(highest for _, highest in results) <= limit
    after = GrantStore().get(tenant, feature)
    assert after is not None and (after.used, after.room) == (limit, 0)
    with pytest.raises(Forbidden):
        EntitlementService(GrantStore()).consume(tenant, feature, 1)


def test_50_workers_on_sharded_soft_counters_bill_exactly_what_was_consumed() -> None:
    # GIVEN a SOFT quota (billed overage) on a grant switched to the high-throughput path
    tenant, feature, subscription_id = high_throughput_grant(
        "QUOTA", {"limit": 1_000, "limitBehavior": "SOFT", "overagePrice": 10}
    )

    def consume_some(service: EntitlementService) -> int:
        rng = random.Random()
        consumed = 0
        for _ in range(40):
            amount = rng.randint(1, 5)
            answer = service.consume(tenant, feature, amount)
            assert answer["allowed"] and answer["consumed"] == amount
            consumed += amount
        return consumed

    # WHEN 50 environments consume at once (spread over the counter shards)
    consumed = sum(run_workers(consume_some))
    # THEN what billing reads for the window (the invoice's quantity) is exactly what was consumed
    grant = GrantStore().get(tenant, feature)
    assert grant is not None
    counter = Counter(tenant, feature, subscription_id, grant.window_start)
    assert UsageCounters(load(CoreTableSettings).core_table).used([counter]) == {counter: consumed}
    # AND the check answer (a snapshot of the grant and its shards) says the same
    assert EntitlementService(GrantStore()).check(tenant, feature)["used"] == consumed
    # AND the units really went to the shards, not to the one grant item
    _, shards = GrantStore().with_shards(grant, grant.window_start)
    assert len(shards) == COUNTER_SHARDS and sum(shards) > consumed // 2
    # AND the invoice of the period bills exactly that: its usage line counted every unit and
    # billed the overage above the 1,000 included, at 10 hundredths of a cent each
    invoice = billing().generate(tenant, subscription_id)
    (line,) = [li for li in invoice.line_items if li.feature_lookup_key == feature]
    assert sum(u.counted for u in line.usage) == consumed
    assert line.quantity == consumed - 1_000 and line.amount == ((consumed - 1_000) * 10 + 50) // 100


def test_a_lease_holder_gives_back_what_it_did_not_spend() -> None:
    tenant, feature, _ = high_throughput_grant("QUOTA", {"limit": 10_000})
    service = EntitlementService(GrantStore(), system_clock)
    service.consume(tenant, feature, 1)  # learns the grant is high-throughput
    answer = service.consume(tenant, feature, 1)  # reserves a block, spends one unit of it
    reserved = GrantStore().get(tenant, feature)
    assert reserved is not None and reserved.used > 2  # the block counts as used while reserved
    assert answer["used"] == 2 and answer["remaining"] == 10_000 - 2
    service._high.give_back_all()
    returned = GrantStore().get(tenant, feature)
    assert returned is not None and (returned.used, returned.room) == (2, 10_000 - 2)


def test_a_grant_switched_back_takes_the_single_item_path_again() -> None:
    tenant, feature, _ = high_throughput_grant("METERED", {"includedAmount": 5, "overagePrice": 1})
    service = EntitlementService(GrantStore(), system_clock)
    service.consume(tenant, feature, 3)
    service.consume(tenant, feature, 4)  # on a shard
    assert GrantStore().set_throughput(tenant, feature, high=False) is not None
    service._high._known.clear()  # the environment's view expires (VIEW_S)
    answer = service.consume(tenant, feature, 2)
    grant = GrantStore().get(tenant, feature)
    assert grant is not None and not grant.high_throughput
    assert answer["used"] == grant.used == 5  # one write on the grant item (3 + 2): its own units
    _, shards = GrantStore().with_shards(grant, iso(grant.current_window(system_clock.now())[0]))
    assert sum(shards) == 4  # the shard still holds the units consumed before the switch
    # and a check still counts them, as billing does: 3 + 4 + 2, not the grant item's 5
    assert EntitlementService(GrantStore()).check(tenant, feature)["used"] == 9
