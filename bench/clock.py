"""Test-clock benchmark: a year of a daily schedule through `advance`, on moto server and the local
Lambda Invoke API — time per firing, DynamoDB calls and Lambda invokes per firing.

    .venv/bin/python -m bench.clock [--days 365]

The advance runs as admin_api runs it (ClockService over ClockStore and LambdaInvoker, botocore
all the way through the local Lambda API to the scheduled function, which reads the business
clock), with no time budget so the whole year is one measurement; the number of HTTP rounds the
default 20 s budget would need is derived from it. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.moto import moto_with_tables

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "MP_STAGE": "test",
    "MP_TEST_CLOCK": "true",
    "MP_CORE_TABLE": "meterplex-bench-core",
    "MP_USAGE_TABLE": "meterplex-bench-usage",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_SERVICE_NAME": "bench",
}
DEFAULT_BUDGET_S = 20.0
DAILY = "cron(0 1 * * ? *)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with moto_with_tables(ENV):
        from infra.local.functions import FunctionRunner
        from infra.local.lambda_api import ENDPOINT_ENV, LambdaApiServer

        logging.getLogger("localcloud").setLevel(logging.WARNING)
        lambda_api = LambdaApiServer(FunctionRunner(ROOT / "bench" / "functions"))
        os.environ[ENDPOINT_ENV] = lambda_api.start()
        try:
            run(args.days)
        finally:
            lambda_api.stop()


def run(days: int) -> None:
    from meterplex.platform.clock_store import ClockStore
    from meterplex.testclock.invoker import LambdaInvoker, lambda_client
    from meterplex.testclock.service import ClockService
    from meterplex.testclock.targets import ScheduledTarget

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    store = ClockStore()
    store.client.meta.events.register("before-call.dynamodb.*", count)  # admin_api's and the function's
    lambda_client().meta.events.register("before-call.lambda.*", count)
    arn = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/meterplex-bench-daily"
    service = ClockService(
        store,
        LambdaInvoker(),
        [ScheduledTarget("daily", "clock_tick", DAILY, arn)],
        budget_s=3600,
        completion_timeout_s=30,
    )
    service.advance(to=datetime(2030, 1, 1, 0, 30, tzinfo=UTC))  # a fixed start; nothing due before it
    service.advance(by=timedelta(days=1))  # warm: the function's cold start is not the figure
    calls.clear()

    started = time.perf_counter()
    result = service.advance(by=timedelta(days=days))
    elapsed = time.perf_counter() - started

    firings = len(result.fired)
    print(f"advance {days} days with a daily schedule ({DAILY}): {firings} firings")
    print(f"  wall time            {elapsed:8.2f} s   ({elapsed / firings * 1000:.1f} ms per firing)")
    print(f"  firings per second   {firings / elapsed:8.1f}")
    per_firing = {op: n / firings for op, n in sorted(calls.items())}
    print("  AWS calls per firing " + ", ".join(f"{n:.2f} {op}" for op, n in per_firing.items()))
    print(
        "    (admin_api: 1 UpdateItem moving the clock; the function: 1 GetItem of the CLOCK item; "
        "1 Lambda Invoke; + 2 UpdateItems per advance for the lease)"
    )
    rounds = max(1, math.ceil(elapsed / DEFAULT_BUDGET_S))
    how = "one request" if rounds == 1 else f"~{rounds} requests (202 and repeat; the CLI repeats by itself)"
    print(f"  with the default {DEFAULT_BUDGET_S:g} s budget (MP_CLOCK_ADVANCE_BUDGET_S): {how}")


if __name__ == "__main__":
    main()
