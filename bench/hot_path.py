"""Hot-path benchmark: DynamoDB calls per check/consume and check latency vs a bare GetItem.

    make bench        (or: .venv/bin/python -m bench.hot_path [--iterations 500])

Everything runs in this process against a moto server on a free port: the entitlements_api
handler is invoked in-process (warm) with API Gateway proxy events, exactly as the local cloud
does. Calls are counted with botocore `before-parameter-build.dynamodb.*` hooks on every client
the process uses (the hot path's own client and PynamoDB's), with their on-demand capacity units.
Prints figures; never passes or fails on time.
Targets (issue 4): 1 call per check, 1 per HARD consume, check median / GetItem median ≤ 1.5.
These are production figures (the test clock off, as in the prod stage); the cost the test clock
adds where it is on (local, test and dev stages: one GetItem of the CLOCK item per request,
ADR 0050) is printed separately.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.moto import moto_with_tables

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "MP_STAGE": "test",
    "MP_CORE_TABLE": "meterplex-bench-core",
    "MP_USAGE_TABLE": "meterplex-bench-usage",
    "MP_JWT_SECRET": "bench-secret-bench-secret-bench-secret-0123456789",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "MP_TEST_CLOCK": "false",  # production: business time is the system time, no reads
}


class Context:
    function_name = "entitlements_api"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:entitlements_api"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 5_000


def proxy_event(
    tenant: str, principal: Any, method: str, key: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The API Gateway proxy event of an entitlement check (GET) or consume (POST)."""
    path = f"/api/v1/entitlements/{key}/{action}"
    headers = {"content-type": "application/json", "x-tenant-id": tenant}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"amount": "1"} if method == "GET" else None,
        "multiValueQueryStringParameters": {"amount": ["1"]} if method == "GET" else None,
        "requestContext": {"requestId": "bench", "authorizer": principal.to_context()},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def load_handler(function: str = "entitlements_api") -> Any:
    """A function's handler, loaded by path as the local runtime does."""
    spec = importlib.util.spec_from_file_location(
        f"{function}_handler", ROOT / f"functions/{function}/handler.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args()
    with moto_with_tables(ENV):
        run(args.iterations)


def run(iterations: int) -> None:
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.catalog.models import FeatureType, Interval
    from meterplex.entitlements.store import GrantStore
    from meterplex.platform.auth import AuthType, Principal, Role
    from meterplex.platform.core_table import core_connection
    from meterplex.platform.dynamodb import dynamodb_client
    from meterplex.subscriptions.routes.subscriptions import subscription_service

    # GIVEN a tenant subscribed to a plan with a HARD quota, a SOFT quota and a BOOLEAN flag
    catalog = catalog_service()
    plan = catalog.create_plan(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}")
    price = catalog.add_price(plan.id, interval=Interval.MONTHLY, amount=100, currency="usd")
    keys = {}
    for name, type_, terms in (
        ("hard", FeatureType.QUOTA, {"limit": 10_000_000}),
        ("soft", FeatureType.QUOTA, {"limit": 10, "limitBehavior": "SOFT", "overagePrice": 10}),
        ("flag", FeatureType.BOOLEAN, {"value": True}),
    ):
        key = f"bench_{name}_{uuid.uuid4().hex[:6]}"
        feature = catalog.create_feature(name=name, lookup_key=key, type=type_)
        catalog.create_entitlement(plan.id, feature.id, terms)
        keys[name] = key
    tenant = str(uuid.uuid4())
    subscription_service().subscribe(tenant, plan_id=plan.id, price_id=price.id)

    handler = load_handler()
    principal = Principal(
        AuthType.JWT, user_id="bench", email="b@x.test", memberships={tenant: Role.DEVELOPER}
    )

    def event(method: str, key: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return proxy_event(tenant, principal, method, key, action, body)

    def invoke(ev: dict[str, Any]) -> dict[str, Any]:
        response = handler(ev, Context())
        assert response["statusCode"] in (200, 403), response
        return response

    # Count every DynamoDB API call the process makes, whichever client makes it.
    calls: Counter[str] = Counter()

    units: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls[model.name] += 1
        # On-demand units, items ≤ 1 KB: a write 1 WCU, a transactional write 2 per item, a
        # strongly consistent read 1 RCU (docs/decisions/0035-consume-idempotency.md).
        if model.name == "TransactWriteItems":
            units["WCU"] += 2 * len(params["TransactItems"])
        elif model.name in {"UpdateItem", "PutItem", "DeleteItem"}:
            units["WCU"] += 1
        elif model.name == "GetItem":
            units["RCU"] += 1

    from meterplex.platform.clock import business_clock
    from meterplex.platform.clock_store import ClockStore

    hot_client = dynamodb_client()
    clients = (hot_client, core_connection().client, ClockStore().client)
    for client in {id(c): c for c in clients}.values():
        client.meta.events.register("before-parameter-build.dynamodb.*", count)

    check_hard = event("GET", keys["hard"], "check")
    invoke(check_hard)  # warm: cold-start imports and connections are not the hot path
    cases = [
        ("check (QUOTA)", check_hard),
        ("check (BOOLEAN)", event("GET", keys["flag"], "check")),
        ("check (not in plan)", event("GET", "not_in_plan", "check")),
        ("consume HARD", event("POST", keys["hard"], "consume", {"amount": 1})),
        ("consume SOFT", event("POST", keys["soft"], "consume", {"amount": 1})),
        ("consume HARD + idempotencyKey", None),
        ("consume, same key again (replay)", "replay"),
    ]

    def count_calls(title: str) -> None:
        print(title)
        keyed = event("POST", keys["hard"], "consume", {"amount": 1, "idempotencyKey": uuid.uuid4().hex})
        for label, case in cases:
            ev = keyed if case in (None, "replay") else case
            calls.clear()
            units.clear()
            invoke(ev)  # type: ignore[arg-type]
            detail = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
            cost = f"{units['RCU']} RCU + {units['WCU']} WCU"
            print(f"  {label:34s} {sum(calls.values())}  ({detail}; {cost})")

    count_calls(
        "DynamoDB API calls per request and their on-demand capacity units, production (test clock off)"
    )
    business_clock.enabled = True  # what the local, test and dev stages run
    count_calls("\nThe same with the test clock on (its one GetItem of the CLOCK item per request)")
    business_clock.enabled = False

    # Latency: the warm check handler vs a bare GetItem of the same item on the same server.
    table = GrantStore().table
    key = {"pk": {"S": f"TENANT#{tenant}#FEAT#{keys['hard']}"}, "sk": {"S": "GRANT"}}
    for _ in range(50):
        invoke(check_hard)
        hot_client.get_item(TableName=table, Key=key, ConsistentRead=True)
    handler_ms: list[float] = []
    getitem_ms: list[float] = []
    for _ in range(iterations):  # interleaved, so server load drifts affect both alike
        start = time.perf_counter()
        invoke(check_hard)
        handler_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        hot_client.get_item(TableName=table, Key=key, ConsistentRead=True)
        getitem_ms.append((time.perf_counter() - start) * 1000)
    base = statistics.median(getitem_ms)
    median, p99 = statistics.median(handler_ms), percentile(handler_ms, 0.99)
    print(f"\nLatency over {iterations} warm iterations against moto server")
    print(f"  bare GetItem      median {base:7.3f} ms   p99 {percentile(getitem_ms, 0.99):7.3f} ms")
    print(f"  check handler     median {median:7.3f} ms   p99 {p99:7.3f} ms")
    ratios = f"median {median / base:5.2f}   p99 {p99 / base:5.2f}"
    print(f"  ratio (÷ GetItem median)  {ratios}   target median ≤ 1.5")


if __name__ == "__main__":
    main()
