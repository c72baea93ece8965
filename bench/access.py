"""Access-control benchmark: what the authorizer and the write guard's re-check cost (ADR 0031).

    .venv/bin/python -m bench.access [--iterations 300]

Everything runs in this process against a moto server on a free port, through the identity
principals code the authorizer and the handlers run. DynamoDB calls and the items they read are
counted with botocore hooks on the PynamoDB client; read units are the strongly consistent cost
(1 per item ≤ 4 KB, halved for the authorizer's eventually consistent reads). The latency of a
re-check is printed next to a bare GetItem of one item on the same server. Prints figures; never
passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import replace
from typing import Any

from bench.hot_path import ENV, percentile
from bench.moto import moto_with_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("MP_BCRYPT_ROUNDS", "4")
    with moto_with_tables(ENV):
        run(args.iterations)


def run(iterations: int) -> None:
    from meterplex.identity import tokens
    from meterplex.identity.models import ApiKey
    from meterplex.identity.principals import authenticate, recheck
    from meterplex.identity.repository import IdentityRepository
    from meterplex.identity.signing_key import jwt_signing_key
    from meterplex.platform.auth import Role
    from meterplex.platform.clock import system_clock
    from meterplex.platform.core_table import core_connection
    from tests.support.identities import stored_api_key, stored_user

    repo = IdentityRepository()
    tenants = [str(uuid.uuid4()) for _ in range(3)]
    one = stored_user({tenants[0]: Role.ADMIN})
    three = stored_user(dict.fromkeys(tenants, Role.DEVELOPER))
    key_principal = stored_api_key(tenants[0])
    secret = tokens.new_api_key()  # a key the authorizer can hash: store one more with a known secret
    key = ApiKey(
        str(uuid.uuid4()),
        tenants[0],
        "bench",
        secret[:12],
        tokens.sha256_hex(secret),
        system_clock.now(),
        "b",
    )
    repo.save_api_key(key, [])

    def jwt_for(user_id: str) -> str:
        return tokens.issue_access_token(
            user_id=user_id,
            email="b@x.test",
            session_version=0,
            now=system_clock.now(),
            signing_key=jwt_signing_key(),
        )

    calls: Counter[str] = Counter()
    items: Counter[str] = Counter()

    def count_call(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    def count_items(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "BatchGetItem":
            items[model.name] += sum(len(t["Keys"]) for t in params["RequestItems"].values())
        elif model.name == "GetItem":
            items[model.name] += 1

    client = core_connection().client
    client.meta.events.register("before-call.dynamodb.*", count_call)
    client.meta.events.register("before-parameter-build.dynamodb.*", count_items)
    cases = {
        "authorizer, JWT, 1 tenant": lambda: authenticate(jwt_for(one.user_id or ""), repo, system_clock),
        "authorizer, JWT, 3 tenants": lambda: authenticate(jwt_for(three.user_id or ""), repo, system_clock),
        "authorizer, API key": lambda: authenticate(secret, repo, system_clock),
        "re-check, JWT + x-tenant-id": lambda: recheck(one, tenants[0], repo, system_clock),
        "re-check, JWT, no tenant (3)": lambda: recheck(three, None, repo, system_clock),
        "re-check, API key": lambda: recheck(key_principal, None, repo, system_clock),
    }
    print("DynamoDB calls per decision (botocore hooks; items = keys read by Get/BatchGet)")
    for label, decide in cases.items():
        decide()  # warm
        calls.clear()
        items.clear()
        decide()
        detail = ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))
        print(f"  {label:32s} {sum(calls.values())} calls ({detail}); {sum(items.values())} items by key")
    print("  read units: a re-check of a JWT acting in a tenant = 3 strongly consistent items = 3 RCU;")
    print("  of an API key = 2 RCU; the authorizer's eventually consistent reads cost half, per cache miss")

    table = os.environ["MP_CORE_TABLE"]
    profile = {"pk": {"S": f"USER#{one.user_id}"}, "sk": {"S": "PROFILE"}}
    fresh = replace(one, rechecked=False)
    recheck_ms: list[float] = []
    getitem_ms: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        recheck(fresh, tenants[0], repo, system_clock)
        recheck_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        client.get_item(TableName=table, Key=profile, ConsistentRead=True)
        getitem_ms.append((time.perf_counter() - start) * 1000)
    base, median = statistics.median(getitem_ms), statistics.median(recheck_ms)
    print(f"\nLatency over {iterations} iterations against moto server")
    print(
        f"  bare GetItem                 median {base:7.3f} ms   p99 {percentile(getitem_ms, 0.99):7.3f} ms"
    )
    print(
        f"  re-check (JWT + tenant)      median {median:7.3f} ms   p99 {percentile(recheck_ms, 0.99):7.3f} ms"
    )
    print(
        f"  ratio (÷ GetItem median)     {median / base:5.2f}  — added once per write, not on check/consume"
    )


if __name__ == "__main__":
    main()
