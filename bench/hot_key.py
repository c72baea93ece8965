"""Hot-key benchmark: consumes/s of ONE tenant-feature through the single-item path and through the
high-throughput path (ADR 0071), on the same moto server, and DynamoDB write units per 1,000.

    make bench        (or: .venv/bin/python -m bench.hot_key [--consumes 2000])

The entitlements_api handler is invoked in-process (warm) with API Gateway proxy events, as the
local cloud does: one execution environment, one consume at a time. For each of a HARD quota and a
METERED feature, the same number of consumes runs on a grant on the single-item path, then on a
grant switched to the high-throughput path (HARD: leases; METERED: counter shards). On moto the
single-item path is bounded by moto answering one write per consume, not by DynamoDB's ~1,000
writes/s per item — so the ratio says what the high-throughput path saves per consume; in AWS the
single-item path also stops at that item's ceiling, whatever the Lambda concurrency, and the
high-throughput one scales with it (each environment writes 1/block per consume, or spreads its
writes over the shards). Write units: on demand, items < 1 KB, a transaction's items twice.
Prints figures (and the machine's load average); never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections import Counter
from typing import Any

from bench.hot_path import ENV, Context, load_handler, proxy_event
from bench.moto import moto_with_tables

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumes", type=int, default=2_000)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared)")
    with moto_with_tables(ENV):
        run(args.consumes)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def run(consumes: int) -> None:
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.catalog.models import FeatureType, Interval
    from meterplex.entitlements.store import GrantStore
    from meterplex.platform.auth import AuthType, Principal, Role
    from meterplex.platform.core_table import core_connection
    from meterplex.platform.dynamodb import dynamodb_client
    from meterplex.subscriptions.routes.subscriptions import subscription_service

    catalog = catalog_service()
    plan = catalog.create_plan(name="Hot", slug=f"hot-{uuid.uuid4().hex[:8]}")
    price = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=100, currency="usd")
    keys: dict[str, str] = {}
    for name, type_, terms in (
        ("hard", FeatureType.QUOTA, {"limit": 100 * consumes}),
        ("metered", FeatureType.METERED, {"includedAmount": 10, "overagePrice": 1}),
    ):
        key = f"hot_{name}_{uuid.uuid4().hex[:6]}"
        feature = catalog.create_feature(name=name, lookup_key=key, type=type_)
        catalog.create_entitlement(plan.id, feature.id, terms)
        keys[name] = key
    tenants = {path: str(uuid.uuid4()) for path in ("single", "high")}
    for tenant in tenants.values():
        subscription_service().subscribe(tenant, plan_id=plan.id, price_id=price.id)
    store = GrantStore()
    for key in keys.values():
        assert store.set_throughput(tenants["high"], key) is not None

    calls: Counter[str] = Counter()
    units: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls[model.name] += 1
        if model.name == "TransactWriteItems":
            units["write"] += 2 * len(params["TransactItems"])
        elif model.name in WRITES:
            units["write"] += 1
        elif model.name == "TransactGetItems":
            units["read"] += 2 * len(params["TransactItems"])
        elif model.name in {"GetItem", "BatchGetItem", "Query"}:
            units["read"] += 1

    for client in {id(c): c for c in (dynamodb_client(), core_connection().client)}.values():
        client.meta.events.register("before-parameter-build.dynamodb.*", count)

    handler = load_handler()
    print(f"\nconsumes of ONE tenant-feature, {consumes} each, one warm environment, moto server")
    for kind in ("hard", "metered"):
        rates: dict[str, float] = {}
        for path, tenant in tenants.items():
            principal = Principal(
                AuthType.JWT, user_id="bench", email="b@x.test", memberships={tenant: Role.DEVELOPER}
            )
            event = proxy_event(tenant, principal, "POST", keys[kind], "consume", {"amount": 1})
            for _ in range(20):  # warm: the environment learns the grant's path
                handler(event, Context())
            calls.clear()
            units.clear()
            started = time.perf_counter()
            for _ in range(consumes):
                response = handler(event, Context())
                assert response["statusCode"] == 200, response
            elapsed = time.perf_counter() - started
            rates[path] = consumes / elapsed
            per_k = 1000 / consumes
            detail = ", ".join(f"{n * per_k:.1f} {op}" for op, n in sorted(calls.items()))
            label = {"single": "single-item path", "high": "high-throughput path"}[path]
            via = {"hard": "leases", "metered": "counter shards"}[kind] if path == "high" else "one item"
            print(
                f"  {kind.upper():8} {label:21} {rates[path]:8,.0f} consumes/s   "
                f"{units['write'] * per_k:7.1f} write units + {units['read'] * per_k:6.1f} read units"
                f" per 1,000 ({via}; calls per 1,000: {detail})"
            )
        print(f"  {kind.upper():8} ratio high ÷ single:  {rates['high'] / rates['single']:8.1f}")


if __name__ == "__main__":
    main()
