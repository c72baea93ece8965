"""Payment domain types (SPEC §8.2, ADR 0060), pure: attempts, collections, refunds and the
normalized provider event every adapter produces."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    REFUNDED = "REFUNDED"


OPEN_STATUSES = frozenset({PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION})


class CollectionState(StrEnum):
    OPEN = "OPEN"  # being collected, in good standing
    PAST_DUE = "PAST_DUE"  # a payment failed (retries scheduled), or a manual invoice is overdue
    UNPAID = "UNPAID"  # the retries are exhausted
    SETTLED = "SETTLED"  # the invoice is paid
    CLOSED = "CLOSED"  # the invoice was voided


CLOSED_STATES = frozenset({CollectionState.SETTLED, CollectionState.CLOSED})


class Action(StrEnum):
    """The one action a collection may have scheduled on the due index."""

    RETRY = "RETRY"  # the next payment attempt
    CHECK_PENDING = "CHECK_PENDING"  # the janitor: an attempt still PENDING after 12 h
    OVERDUE = "OVERDUE"  # manual collection: the invoice's due date


class EventType(StrEnum):
    """Normalized provider event types (what every adapter's webhook becomes)."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    IGNORED = "ignored"  # verified, but nothing Meterplex acts on


class EventStatus(StrEnum):
    RECEIVED = "RECEIVED"
    PROCESSED = "PROCESSED"
    IGNORED = "IGNORED"
    DEAD_LETTERED = "DEAD_LETTERED"


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider event, normalized. `tenant_id`/`payment_id` are set when the provider
    carried our metadata (Stripe); otherwise the attempt is found by `provider_payment_id`."""

    provider: str
    event_id: str
    type: EventType
    provider_payment_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    failure_reason: str | None = None
    refund_id: str | None = None  # the provider's refund id
    tenant_id: str | None = None
    payment_id: str | None = None
    invoice_id: str | None = None
    meterplex_refund_id: str | None = None
    provider_type: str = ""  # the provider's own event type (e.g. payment_intent.succeeded)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ProviderEvent:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("a stored provider event must be a JSON object")
        raw["type"] = EventType(raw["type"])
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Payment:
    """One payment attempt of an invoice (SPEC §8.2 field names in the API)."""

    id: str
    tenant_id: str
    invoice_id: str
    invoice_number: str | None
    provider: str
    attempt_number: int
    amount: int
    currency: str
    status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    provider_payment_id: str | None = None
    failure_reason: str | None = None
    next_retry_at: datetime | None = None
    refunded: int = 0  # cents refunded (or reserved for a refund in flight)

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded if self.status in (PaymentStatus.SUCCEEDED,) else 0


@dataclass(frozen=True)
class Collection:
    """How one invoice is being collected (ADR 0060): its attempts and its dunning state."""

    tenant_id: str
    invoice_id: str
    invoice_number: str | None
    subscription_id: str
    amount: int
    currency: str
    automatic: bool
    state: CollectionState
    created_at: datetime
    attempts: int = 0
    payment_id: str | None = None  # the current (latest) attempt
    first_failed_at: datetime | None = None
    action: Action | None = None
    action_at: datetime | None = None
    version: int = 0  # 0: not stored yet

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES


@dataclass(frozen=True)
class Refund:
    id: str
    tenant_id: str
    invoice_id: str
    invoice_number: str | None
    payment_id: str
    amount: int
    currency: str
    status: str  # PENDING | SUCCEEDED | FAILED
    created_at: datetime
    provider_refund_id: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class PaymentRequest:
    """What an adapter needs to charge an invoice. `customer` is the tenant's metadata (the
    Stripe customer and payment method, the fake's script)."""

    tenant_id: str
    invoice_id: str
    payment_id: str
    attempt_number: int
    amount: int
    currency: str
    customer: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return f"meterplex-{self.invoice_id}-{self.attempt_number}"
