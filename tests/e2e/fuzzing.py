"""Fuzzing support: the identities the fuzzer acts as, its settings, and the report it prints.

The fuzzer (tests/e2e/test_fuzz.py) is generic over `/api/openapi.json`: every operation the
document has is fuzzed, so routes added later are covered without touching it. It runs against
its own local cloud (`python -m infra.local serve`), as three callers:
* `owner`   — a freshly registered user, OWNER of a tenant subscribed to the demo `pro` plan
  (access JWT + x-tenant-id);
* `admin`   — the platform admin of the local cloud (access JWT, no tenant);
* `api_key` — an API key of the owner's tenant.

`MP_FUZZ_EXAMPLES` sets the fuzzing examples per operation, `MP_FUZZ_PHASES` which of
schemathesis' phases run (`make test`: fuzzing only, a few minutes; `make fuzz`: examples, coverage
and fuzzing, many examples); `MP_FUZZ_DERANDOMIZE=false` lets every run explore new inputs
(`make fuzz`), otherwise each run is the same (the bounded run in `make test` never flakes).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from infra.local.cloud_process import UNTHROTTLED_ENV

EXAMPLES_ENV = "MP_FUZZ_EXAMPLES"
DERANDOMIZE_ENV = "MP_FUZZ_DERANDOMIZE"
PHASES_ENV = "MP_FUZZ_PHASES"
DEFAULT_EXAMPLES = 10
PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_PHASES = "fuzzing"
PASSWORD = "FuzzPass123"
ADMIN = ("admin@meterplex.local", "Admin12345!")  # the local cloud's documented defaults
TIMEOUT_S = 30
# The fuzz cloud: a cheap password hash, and rate limits out of the way, so the examples explore
# the handlers rather than the limiter (which tests/integration/identity covers).
CLOUD_ENV = UNTHROTTLED_ENV


def examples() -> int:
    return int(os.environ.get(EXAMPLES_ENV, DEFAULT_EXAMPLES))


def phases() -> set[str]:
    chosen = {p.strip() for p in os.environ.get(PHASES_ENV, DEFAULT_PHASES).split(",") if p.strip()}
    unknown = chosen - set(PHASES) | ({"stateful"} & chosen)
    assert not unknown, f"{PHASES_ENV}: unknown or unsupported phases {sorted(unknown)}"
    return chosen


def derandomize() -> bool:
    return os.environ.get(DERANDOMIZE_ENV, "true").lower() != "false"


@dataclass
class Identity:
    """One way of calling the API. JWT identities log in again when their session was revoked
    (the fuzzer may well call `POST /auth/revoke-all`)."""

    name: str
    base_url: str
    email: str | None = None
    password: str | None = None
    token: str = ""
    tenant_id: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.tenant_id:
            headers["x-tenant-id"] = self.tenant_id
        return headers

    def login(self) -> None:
        assert self.email and self.password
        with self._lock:
            reply = requests.post(
                f"{self.base_url}/api/v1/auth/login",
                json={"email": self.email, "password": self.password},
                timeout=TIMEOUT_S,
            )
            assert reply.status_code == 200, reply.text
            self.token = reply.json()["accessToken"]

    def still_valid(self) -> bool:
        if self.email is None:  # an API key: nothing to renew
            return True
        reply = requests.get(f"{self.base_url}/api/v1/auth/me", headers=self.headers(), timeout=TIMEOUT_S)
        return reply.status_code != 401


def identities(base_url: str) -> list[Identity]:
    """Register the owner (subscribed to `pro`), log the admin in, create the owner's API key."""
    suffix = uuid.uuid4().hex[:10]
    email = f"fuzz-{suffix}@example.com"
    registered = requests.post(
        f"{base_url}/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "firstName": "Fuzz",
            "lastName": "Owner",
            "tenantName": "Fuzz tenant",
            "tenantSlug": f"fuzz-{suffix}",
        },
        timeout=TIMEOUT_S,
    )
    assert registered.status_code == 201, registered.text
    owner = Identity("owner", base_url, email, PASSWORD, registered.json()["accessToken"])
    owner.tenant_id = registered.json()["tenant"]["id"]
    pro = requests.get(f"{base_url}/api/v1/plans/slug/pro", timeout=TIMEOUT_S).json()
    price = next(p for p in pro["prices"] if p["interval"] == "MONTHLY")
    subscribed = requests.post(
        f"{base_url}/api/v1/subscriptions",
        json={"planId": pro["id"], "priceId": price["id"]},
        headers=owner.headers(),
        timeout=TIMEOUT_S,
    )
    assert subscribed.status_code == 201, subscribed.text
    key = requests.post(
        f"{base_url}/api/v1/api-keys", json={"name": "fuzz"}, headers=owner.headers(), timeout=TIMEOUT_S
    )
    assert key.status_code == 201, key.text
    admin = Identity("admin", base_url, *ADMIN)
    admin.login()
    return [owner, admin, Identity("api_key", base_url, token=key.json()["key"])]


@dataclass
class OperationStats:
    examples: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    schema_mismatches: int = 0


class Report:
    """What the fuzzer did, per operation and identity; printed at the end of the session."""

    def __init__(self) -> None:
        self.total_operations = 0
        self.stats: dict[tuple[str, str], OperationStats] = {}
        self.failures: list[str] = []

    def record(self, operation: str, identity: str, status: int) -> OperationStats:
        stats = self.stats.setdefault((operation, identity), OperationStats())
        stats.examples += 1
        stats.statuses[status] += 1
        return stats

    def lines(self) -> list[str]:
        operations = {op for op, _ in self.stats}
        per_identity: dict[str, set[str]] = {}
        for op, who in self.stats:
            per_identity.setdefault(who, set()).add(op)
        succeeded = {op for (op, _), s in self.stats.items() if any(200 <= c < 300 for c in s.statuses)}
        requests_run = sum(s.examples for s in self.stats.values())
        server_errors = sum(s.server_errors for s in self.stats.values())
        mismatches = sum(s.schema_mismatches for s in self.stats.values())
        statuses: Counter[int] = Counter()
        for s in self.stats.values():
            statuses.update(s.statuses)
        lines = [
            "fuzz report (schemathesis: not_a_server_error, response_schema_conformance; "
            f"phases {', '.join(sorted(phases()))}; {examples()} fuzzing examples per operation)",
            f"  operations covered   {len(operations)} / {self.total_operations}",
            *(
                f"    as {who:8s}        {len(ops)} / {self.total_operations}"
                for who, ops in sorted(per_identity.items())
            ),
            f"  operations with a 2xx answer  {len(succeeded)}",
            f"  examples run         {requests_run} requests",
            f"  5xx found            {server_errors}",
            f"  schema mismatches    {mismatches}",
            "  statuses             " + ", ".join(f"{c}: {n}" for c, n in sorted(statuses.items())),
        ]
        lines += [f"  FAILED {failure}" for failure in self.failures[:20]]
        return lines


REPORT = Report()


def classify(failures: Any) -> tuple[int, int]:
    """(server errors, schema mismatches) in a schemathesis FailureGroup."""
    from schemathesis.core.failures import ServerError

    found = list(getattr(failures, "exceptions", [failures]))
    server = sum(isinstance(f, ServerError) for f in found)
    return server, len(found) - server
