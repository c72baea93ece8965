"""Webhook API schemas (SPEC §8.3) and the mapping from the domain types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meterplex.catalog.schemas import Timestamp
from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.pagination import CursorMeta, PageMeta
from meterplex.webhooks.catalog import WebhookEventType
from meterplex.webhooks.models import (
    MAX_LOGGED_ATTEMPTS,
    Attempt,
    Delivery,
    DeliveryStatus,
    DisabledReason,
    Endpoint,
)
from meterplex.webhooks.ssrf import MAX_URL_LENGTH

Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=MAX_URL_LENGTH,
        description="https (http only to localhost in the local stage); never a private, loopback or "
        "link-local address",
        examples=["https://hooks.example.com/meterplex"],
    ),
]
EventTypes = Annotated[
    list[WebhookEventType],
    Field(min_length=1, max_length=len(WebhookEventType), description="The event types to receive"),
]
Description = Annotated[str, Field(max_length=500)]


class CreateEndpointRequest(ApiModel):
    url: Url
    event_types: EventTypes
    description: Description | None = None
    enabled: bool = True


class UpdateEndpointRequest(ApiModel):
    """Only the fields sent change; `description: null` clears it; `enabled: true` re-enables an
    endpoint the platform disabled (410, or failing for 5 days)."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = None


class EndpointOut(ApiResponse):
    id: str
    url: str
    event_types: list[WebhookEventType]
    description: str | None
    enabled: bool
    disabled_reason: DisabledReason | None = Field(
        description="MANUAL, GONE (the receiver answered 410) or FAILING (failing for 5 days)"
    )
    disabled_at: Timestamp | None
    failing_since: Timestamp | None = Field(description="The first failed attempt since the last success")
    secret_rotated_at: Timestamp | None
    previous_secret_expires_at: Timestamp | None = Field(
        description="Until then deliveries carry a signature with the previous secret too"
    )
    created_at: Timestamp
    updated_at: Timestamp


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="`whsec_…`: shown only in this answer; store it to verify signatures")


class EndpointPage(ApiResponse):
    data: list[EndpointOut]
    meta: PageMeta


class SecretOut(ApiResponse):
    secret: str = Field(description="The new `whsec_…` secret, shown only in this answer")
    previous_secret_expires_at: Timestamp = Field(description="The previous secret is valid until then")


class AttemptOut(ApiResponse):
    number: int
    at: Timestamp
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer (see error)")
    latency_ms: int
    response_excerpt: str | None = Field(description="At most 256 bytes of the receiver's answer")
    error: str | None = Field(
        description="Why there was no answer: timeout, connection, TLS, address refused"
    )
    manual: bool = Field(description="Made by a manual retry")


class DeliveryOut(ApiResponse):
    id: str
    endpoint_id: str
    event_id: str = Field(description="Also the `webhook-id` header and the body's `id`")
    event_type: WebhookEventType
    status: DeliveryStatus
    attempt_count: int
    attempts: list[AttemptOut] = Field(description=f"The last {MAX_LOGGED_ATTEMPTS} attempts, oldest first")
    last_status_code: int | None
    next_retry_at: Timestamp | None = Field(description="When the next attempt is due (PENDING only)")
    delivered_at: Timestamp | None
    created_at: Timestamp


class DeliveryPage(ApiResponse):
    data: list[DeliveryOut]
    meta: CursorMeta


class TestEventOut(ApiResponse):
    message: str
    event_id: str
    delivery_id: str


def endpoint_out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        description=endpoint.description,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        failing_since=endpoint.failing_since,
        secret_rotated_at=endpoint.secret_created_at,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def attempt_out(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        number=attempt.number,
        at=attempt.at,
        status_code=attempt.status_code,
        latency_ms=attempt.latency_ms,
        response_excerpt=attempt.response_excerpt,
        error=attempt.error,
        manual=attempt.manual,
    )


def delivery_out(delivery: Delivery) -> DeliveryOut:
    pending = delivery.status is DeliveryStatus.PENDING
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        attempts=[attempt_out(a) for a in delivery.attempts],
        last_status_code=delivery.last_status_code,
        next_retry_at=delivery.next_attempt_at if pending else None,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
    )
