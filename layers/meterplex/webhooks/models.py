"""Webhook endpoints and deliveries as the rules see them (ADR 0080), pure."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from meterplex.webhooks.catalog import WebhookEventType

MAX_ENDPOINTS = 20  # per tenant: bounds every event's fan-out and the endpoint list
MAX_LOGGED_ATTEMPTS = 20  # the delivery log keeps the last 20 attempts of a delivery
EXCERPT_BYTES = 256  # of a receiver's answer, per attempt
ROTATION_OVERLAP_HOURS = 24
FAILING_DAYS_TO_DISABLE = 5


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # an attempt is due (now or at nextAttemptAt)
    SUCCEEDED = "SUCCEEDED"  # a 2xx answer
    FAILED = "FAILED"  # stopped before its schedule ended: 410, the endpoint disabled or deleted
    EXHAUSTED = "EXHAUSTED"  # every attempt of the retry schedule failed


class DisabledReason(StrEnum):
    MANUAL = "MANUAL"  # PATCH enabled=false
    GONE = "GONE"  # the receiver answered 410
    FAILING = "FAILING"  # failing for 5 days


@dataclass(frozen=True)
class Endpoint:
    id: str
    tenant_id: str
    url: str
    event_types: tuple[WebhookEventType, ...]
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    version: int = 1
    disabled_reason: DisabledReason | None = None
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    secret_created_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None

    def wants(self, type_: WebhookEventType) -> bool:
        return self.enabled and type_ in self.event_types


@dataclass(frozen=True)
class Attempt:
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None = None
    error: str | None = None
    manual: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Delivery:
    id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    event_type: WebhookEventType
    payload: str
    status: DeliveryStatus
    created_at: datetime
    step: int = 0  # automatic attempts failed so far (the retry schedule's position)
    attempt_count: int = 0
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_status_code: int | None = None
    manual: bool = False  # the pending attempt was asked for by a manual retry


@dataclass(frozen=True)
class DeliveryRef:
    """What a queue message names: enough to claim the delivery."""

    tenant_id: str
    endpoint_id: str
    delivery_id: str


def restarted(delivery: Delivery, now: datetime) -> Delivery:
    """What a manual retry makes of a delivery: PENDING, due `now`, its retry schedule from the
    start (the repository's conditional update writes exactly these fields)."""
    return replace(delivery, status=DeliveryStatus.PENDING, step=0, next_attempt_at=now, manual=True)


def delivery_id(event_id: str, endpoint_id: str, occurred_at: datetime) -> str:
    """Deterministic and time-ordered (a UUID of version 8): 48 bits of the event's time in
    milliseconds, then SHA-256 of (event, endpoint). The same event and endpoint always name the
    same delivery, so the dispatcher's conditional put makes it once (ADR 0080)."""
    millis = int(occurred_at.timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(f"{event_id}\x00{endpoint_id}".encode()).digest()[:10], "big")
    value = millis << 80
    value |= 0x8 << 76  # version 8 (custom)
    value |= ((digest >> 68) & 0xFFF) << 64
    value |= 0b10 << 62  # variant
    value |= digest & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def excerpt(body: bytes, limit: int = EXCERPT_BYTES) -> str:
    """At most `limit` bytes of a receiver's answer, as text (cut on a character boundary)."""
    return body[:limit].decode("utf-8", "ignore")
