"""The billing day: the test clock moved past every subscription's first period end, so that one
firing of `billing-daily` finds all of them due at once (SPEC §8.1; docs/local-cloud.md). Its
figures: the advance's duration and the invoices it made per second."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from load.api import Api
from load.plan import Plan
from meterplex.platform.clock import parse_iso

RETRIED = {"SCHEDULE_INCOMPLETE", "SCHEDULE_FAILED"}  # "repeating the request retries it"
MAX_REQUESTS = 60


@dataclass(frozen=True)
class BillingDay:
    target: str
    seconds: float
    requests: int
    fired: dict[str, int]  # schedule → firings


def advance_past_period_ends(api: Api, admin: dict[str, str], plan: Plan) -> BillingDay:
    """POST /admin/clock/advance to a day after the last period end, repeated on 202 (its time
    budget ran out) and on 503 for an incomplete schedule, until it answers 200."""
    last_end = max(parse_iso(t.period_end) for t in plan.tenants)
    target = (last_end + timedelta(days=1)).isoformat()
    fired: dict[str, int] = {}
    began = time.perf_counter()
    for request in range(1, MAX_REQUESTS + 1):
        reply = api.call("POST", "/admin/clock/advance", admin, json={"to": target})
        body: dict[str, Any] = reply.json()
        if reply.status_code in (200, 202):
            for firing in body.get("fired", []):
                fired[firing["schedule"]] = fired.get(firing["schedule"], 0) + 1
        if reply.status_code == 200:
            return BillingDay(target, round(time.perf_counter() - began, 1), request, fired)
        if reply.status_code == 202 or (reply.status_code == 503 and body.get("code") in RETRIED):
            continue
        raise SystemExit(f"clock advance failed: {reply.status_code} {reply.text}")
    raise SystemExit(f"clock advance to {target} incomplete after {MAX_REQUESTS} requests")


def reset(api: Api, admin: dict[str, str]) -> None:
    api.post("/admin/clock/reset", admin)


def business_now(api: Api, admin: dict[str, str]) -> str:
    return str(api.get("/admin/clock", admin)["now"])
