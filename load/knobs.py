"""The run's bounds, from the environment (`MP_LOAD_*`): every count and duration has a ceiling so
that `make load` stays within minutes on a 2-core machine."""

from __future__ import annotations

import os
from dataclasses import dataclass

from infra.local.cloud import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD


def _int(name: str, default: int, low: int, high: int) -> int:
    value = int(os.environ.get(name, default))
    if not low <= value <= high:
        raise SystemExit(f"error: {name}={value} is outside {low}..{high}")
    return value


@dataclass(frozen=True)
class Knobs:
    url: str | None  # MP_LOAD_URL: a running cloud to load; None = start one
    moto_url: str | None  # MP_LOAD_MOTO_URL: that cloud's DynamoDB (for the usage-table check)
    admin_email: str
    admin_password: str
    tenants: int  # subscriptions due on the billing day
    traffic_tenants: int  # of those, the ones that check, consume and send usage
    hooked_tenants: int  # of those, the ones with two webhook endpoints at the receiver
    tenants_per_owner: int  # tenants per registered owner (each write reads all its memberships)
    users: int  # Locust users per traffic phase
    seconds: int  # how long the traffic phase runs
    quota_limit: int  # the HARD quota each traffic tenant consumes against
    fail_percent: int  # payment webhooks that say payment.failed
    repeat_percent: int  # payment webhooks sent twice with the same event id
    settle_s: int  # how long to wait for the pipeline to catch up before a check gives up

    @classmethod
    def from_environment(cls) -> Knobs:
        return cls(
            url=os.environ.get("MP_LOAD_URL") or None,
            moto_url=os.environ.get("MP_LOAD_MOTO_URL") or None,
            admin_email=os.environ.get("MP_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL),
            admin_password=os.environ.get("MP_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD),
            tenants=_int("MP_LOAD_TENANTS", 50, 1, 5000),
            traffic_tenants=_int("MP_LOAD_TRAFFIC_TENANTS", 20, 1, 200),
            hooked_tenants=_int("MP_LOAD_HOOKED_TENANTS", 50, 0, 500),
            tenants_per_owner=_int("MP_LOAD_TENANTS_PER_OWNER", 10, 1, 1000),
            users=_int("MP_LOAD_USERS", 12, 1, 200),
            seconds=_int("MP_LOAD_SECONDS", 60, 5, 300),
            quota_limit=_int("MP_LOAD_QUOTA_LIMIT", 15, 1, 1_000_000),
            fail_percent=_int("MP_LOAD_FAIL_PERCENT", 10, 0, 100),
            repeat_percent=_int("MP_LOAD_REPEAT_PERCENT", 5, 0, 100),
            settle_s=_int("MP_LOAD_SETTLE_S", 180, 5, 600),
        )
