"""What the runner hands the swarm (a `Plan`, as JSON) and what the swarm hands back (`Outcome`):
the tenants to load and, afterwards, what every answer said. Plain dataclasses, one JSON file each."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN = "load_not_in_plan"  # a feature no plan has: those events are rejected
# Locust route name → scenario, for the report (here, not in the locustfile: importing Locust
# monkey-patches the process for gevent, which only the swarm process may be — ADR 0110)
SCENARIOS: dict[str, str] = {
    "/entitlements/{quota}/check": "check/consume",
    "/entitlements/{metered}/check": "check/consume",
    "/entitlements/{quota}/consume": "check/consume",
    "/usage/events": "usage batches",
    "/webhook-endpoints/{id}/test": "webhook fan-out",
    "/webhooks/fake": "payment webhooks",
}


@dataclass(frozen=True)
class Endpoint:
    id: str
    path: str  # on the receiver: /t/<n>/<kind>
    event_types: list[str]


@dataclass(frozen=True)
class Tenant:
    id: str
    subscription_id: str
    period_start: str
    period_end: str
    owner_email: str
    member_token: str  # its owner's access token (JWT, 15 min: renewed between phases)
    api_key: str | None = None  # traffic tenants only
    endpoints: list[Endpoint] = field(default_factory=list)  # hooked tenants only


@dataclass(frozen=True)
class Payment:
    tenant_id: str
    invoice_id: str
    provider_payment_id: str
    amount: int
    currency: str


@dataclass
class Plan:
    url: str  # the API base, ending in /api/v1
    metered: str  # the lookup key of the METERED feature usage batches count against (0 included)
    quota: str  # the lookup key of the HARD QUOTA feature consumes are granted against
    quota_limit: int
    tenants: list[Tenant]
    payments: list[Payment] = field(default_factory=list)
    business_now: str | None = None  # the frozen test clock's time: usage events are stamped with it
    fail_percent: int = 0
    repeat_percent: int = 0

    def traffic(self) -> list[Tenant]:
        return [t for t in self.tenants if t.api_key]

    def hooked(self) -> list[Tenant]:
        return [t for t in self.tenants if t.endpoints]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Plan:
        raw = json.loads(path.read_text())
        tenants = [
            Tenant(**{**t, "endpoints": [Endpoint(**e) for e in t["endpoints"]]}) for t in raw.pop("tenants")
        ]
        payments = [Payment(**p) for p in raw.pop("payments")]
        return cls(tenants=tenants, payments=payments, **raw)


@dataclass
class RouteStats:
    method: str
    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class Outcome:
    """What one swarm phase saw. Amounts are per tenant id."""

    phase: str
    seconds: float = 0.0
    routes: list[RouteStats] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "<occurrences>× <method> <name>: <error>"
    accepted_units: dict[str, int] = field(default_factory=dict)  # usage answered `accepted`
    accepted_events: dict[str, int] = field(default_factory=dict)
    duplicate_events: int = 0
    rejected_events: int = 0
    granted_units: dict[str, int] = field(default_factory=dict)  # consumes answered 200 (each key once)
    most_used_answered: dict[str, int] = field(default_factory=dict)  # the highest `used` a 200 said
    refused_consumes: int = 0  # 403 QUOTA_EXCEEDED
    idempotent_repeats: int = 0  # a key sent again that answered the first answer
    idempotent_mismatches: list[str] = field(default_factory=list)
    webhook_tests: list[dict[str, Any]] = field(default_factory=list)  # {path, eventId, sentAt}
    decided: list[dict[str, Any]] = field(default_factory=list)  # {invoiceId, tenantId, outcome}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Outcome:
        raw = json.loads(path.read_text())
        routes = [RouteStats(**r) for r in raw.pop("routes")]
        return cls(routes=routes, **raw)
