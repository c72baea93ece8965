"""What a run saw, as plain values: what the clients were told (the swarm's `Outcome`s, the
runner's own requests) beside what the platform holds afterwards (its API, its usage table). The
checks (`load/checks.py`) read only this; `load/observe.py` fills it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UsageSeen:
    """One traffic tenant's METERED feature."""

    tenant_id: str
    answered_units: int  # Σ amount of the events the API answered `accepted`
    answered_events: int
    counted_units: int  # `check` → `used` of the window (0 included, so every counted unit)
    stored_units: int | None = None  # Σ amount of the tenant's event items in the usage table
    stored_events: int | None = None  # None: the usage table could not be read (no moto)


@dataclass(frozen=True)
class QuotaSeen:
    """One traffic tenant's HARD QUOTA feature."""

    tenant_id: str
    limit: int
    granted_units: int  # Σ amount of the consumes answered 200 (each idempotency key once)
    most_used_answered: int  # the highest `used` any consume or check answered
    counted_used: int  # `check` → `used` after the run


@dataclass(frozen=True)
class InvoiceSeen:
    id: str
    subscription_id: str
    period_start: str
    period_end: str
    status: str
    finalized: bool  # finalizedAt set: it was FINALIZED at some point (a CHARGE is due)


@dataclass(frozen=True)
class EntrySeen:
    id: str
    type: str  # CHARGE | PAYMENT | CREDIT | REFUND | ADJUSTMENT
    invoice_id: str | None


@dataclass(frozen=True)
class BillingSeen:
    """One tenant on the billing day: the period that came due, and what it holds afterwards."""

    tenant_id: str
    subscription_id: str
    period_start: str
    period_end: str
    invoices: list[InvoiceSeen]
    ledger: list[EntrySeen]
    decided: str | None = None  # the payment webhook the swarm sent: succeeded | failed | None


@dataclass(frozen=True)
class Expected:
    """A webhook the platform owes a receiver path: `key` is the event id (webhook.test) or the
    id of the object the event is about (an invoice id)."""

    path: str
    type: str
    key: str


@dataclass(frozen=True)
class Arrival:
    path: str
    webhook_id: str
    type: str
    key: str
    status: int  # what the receiver answered (2xx = delivered)


@dataclass(frozen=True)
class ReconciliationSeen:
    status: str  # COMPLETED | FAILED | RUNNING (never finished)
    issues: int
    events_redriven: int
    by_category: dict[str, int] = field(default_factory=dict)


@dataclass
class Observed:
    usage: list[UsageSeen] = field(default_factory=list)
    quotas: list[QuotaSeen] = field(default_factory=list)
    idempotency_mismatches: list[str] = field(default_factory=list)
    request_errors: list[str] = field(default_factory=list)  # Locust failures of every phase
    billing: list[BillingSeen] = field(default_factory=list)
    expected_webhooks: list[Expected] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    reconciliation: ReconciliationSeen | None = None
