"""The billing day: the test clock moved past every subscription's first period end, so that one
firing of `billing-daily` finds all of them due at once (SPEC §8.1; docs/local-cloud.md). Its
figures: the advance's duration and the invoices it made per second."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from load.api import Api, Login
from load.plan import Plan
from meterplex.platform.clock import parse_iso

RETRIED = {"SCHEDULE_INCOMPLETE", "SCHEDULE_FAILED"}  # "repeating the request retries it"
MAX_REQUESTS = 60
# An advance answers 202 after its budget (20 s), but only between two firings: one firing (a daily
# reconciliation over every tenant, the billing run itself) may take minutes on a loaded machine.
ADVANCE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Advance:
    target: str
    seconds: float
    requests: int
    fired: dict[str, int]  # schedule → firings


@dataclass(frozen=True)
class BillingDay:
    month: Advance  # up to a minute before the firing that finds every subscription due
    due_firing: Advance  # that one firing: the billing day's own figure


def due_firing_after(instant: datetime) -> datetime:
    """The first firing of `billing-daily` (cron 00:05 UTC) after `instant`."""
    firing = instant.replace(hour=0, minute=5, second=0, microsecond=0)
    return firing if firing > instant else firing + timedelta(days=1)


def advance_to(api: Api, admin: Login, target: datetime) -> Advance:
    """POST /admin/clock/advance to `target`, repeated on 202 (its time budget ran out) and on
    503 for an incomplete schedule, until it answers 200."""
    fired: dict[str, int] = {}
    began = time.perf_counter()
    for request in range(1, MAX_REQUESTS + 1):
        body_out = {"to": target.isoformat()}
        reply = api.call(
            "POST", "/admin/clock/advance", admin.headers(), timeout=ADVANCE_TIMEOUT_S, json=body_out
        )
        body: dict[str, Any] = reply.json()
        if reply.status_code in (200, 202):
            for firing in body.get("fired", []):
                fired[firing["schedule"]] = fired.get(firing["schedule"], 0) + 1
        if reply.status_code == 200:
            return Advance(target.isoformat(), round(time.perf_counter() - began, 1), request, fired)
        if reply.status_code == 202 or (reply.status_code == 503 and body.get("code") in RETRIED):
            continue
        raise SystemExit(f"clock advance failed: {reply.status_code} {reply.text}")
    raise SystemExit(f"clock advance to {target} incomplete after {MAX_REQUESTS} requests")


def advance_past_period_ends(api: Api, admin: Login, plan: Plan) -> BillingDay:
    """The month up to a minute before the first billing run after the last period end, then
    that run alone: its completion check holds the advance until every invoice it owes exists."""
    firing = due_firing_after(max(parse_iso(t.period_end) for t in plan.tenants))
    month = advance_to(api, admin, firing - timedelta(minutes=1))
    return BillingDay(month, advance_to(api, admin, firing + timedelta(minutes=1)))


def reset(api: Api, admin: Login) -> None:
    """Back to real time (best effort: on the way out of a failed run, the cloud may be busy)."""
    try:
        reply = api.call("POST", "/admin/clock/reset", admin.headers(), timeout=ADVANCE_TIMEOUT_S)
        if reply.status_code != 200:
            print(f"warning: clock reset answered {reply.status_code} {reply.text}", flush=True)
    except requests.RequestException as error:
        print(f"warning: clock reset failed: {error}", flush=True)


def business_now(api: Api, admin: dict[str, str]) -> str:
    return str(api.get("/admin/clock", admin)["now"])
