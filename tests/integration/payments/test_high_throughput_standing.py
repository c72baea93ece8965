"""UNPAID reaches the high-throughput path too (ADR 0060 × ADR 0071): an execution environment
that holds a lease (HARD) or a shard view (METERED) of a grant serves from it for at most `VIEW_S`
after the payment standing changed; then its grant read is stale, the consume takes the single
path, whose conditional write refuses an UNPAID grant: 402."""

from __future__ import annotations

from typing import Any

import pytest

from meterplex.entitlements.keys import UNPAID
from meterplex.entitlements.records import stage_standing
from meterplex.entitlements.service import EntitlementService
from meterplex.entitlements.store import GrantStore
from meterplex.entitlements.throughput import VIEW_S, HighThroughput
from meterplex.platform.clock import system_clock
from meterplex.platform.core_table import core_connection
from meterplex.platform.errors import PaymentRequired
from meterplex.platform.transactions import transaction
from tests.integration.entitlements.test_high_throughput import high_throughput_grant

pytestmark = pytest.mark.usefixtures("moto_endpoint")


@pytest.mark.parametrize(
    ("kind", "terms"),
    [("QUOTA", {"limit": 100_000}), ("METERED", {"includedAmount": 10, "overagePrice": 5})],
    ids=["hard-lease", "metered-shards"],
)
def test_an_unpaid_tenant_is_refused_402_by_a_warm_high_throughput_environment(
    kind: str, terms: dict[str, Any]
) -> None:
    # GIVEN a grant on the high-throughput path and an environment that has served it (its lease
    # or shard view in memory)
    tenant, feature, subscription_id = high_throughput_grant(kind, terms)
    ticks = [0.0]
    store = GrantStore()
    service = EntitlementService(store, system_clock, high=HighThroughput(store, monotonic=lambda: ticks[0]))
    for _ in range(3):
        assert service.consume(tenant, feature, 1)["allowed"] is True

    # WHEN the tenant's retries are exhausted: payments write UNPAID on the subscription's grants
    with transaction(core_connection()) as tx:
        stage_standing(tx, tenant, subscription_id, [feature], UNPAID)

    # THEN once the environment's view is VIEW_S old, consume answers 402 (the single path decides)
    ticks[0] += VIEW_S + 0.1
    with pytest.raises(PaymentRequired):
        service.consume(tenant, feature, 1)
    # AND a fresh environment refuses at once
    with pytest.raises(PaymentRequired):
        EntitlementService(GrantStore(), system_clock).consume(tenant, feature, 1)
