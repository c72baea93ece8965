"""Outbound webhook endpoints and their deliveries (SPEC §8.3)."""

from __future__ import annotations

from datetime import datetime

from meterplex_client.models.base import Body, Model


class WebhookEndpoint(Model):
    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    enabled: bool
    disabled_reason: str | None = None  # MANUAL, GONE (the receiver answered 410), FAILING (5 days)
    disabled_at: datetime | None = None
    failing_since: datetime | None = None
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = None  # deliveries carry both signatures until then
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str


class WebhookSecret(Model):
    secret: str
    previous_secret_expires_at: datetime | None = None


class WebhookAttempt(Model):
    number: int
    at: datetime
    status_code: int | None = None  # None: no answer (see `error`)
    latency_ms: int
    response_excerpt: str | None = None
    error: str | None = None
    manual: bool = False


class WebhookDelivery(Model):
    id: str
    endpoint_id: str | None = None
    event_id: str | None = None  # also the `webhook-id` header
    event_type: str | None = None
    status: str  # PENDING, SUCCEEDED, FAILED, EXHAUSTED
    attempt_count: int = 0
    attempts: list[WebhookAttempt] = []  # the last 20, oldest first
    last_status_code: int | None = None
    next_retry_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None


class WebhookTestEvent(Model):
    message: str
    event_id: str
    delivery_id: str


class CreateWebhookEndpointRequest(Body):
    url: str
    event_types: list[str]
    description: str | None = None
    enabled: bool | None = None


class UpdateWebhookEndpointRequest(Body):
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    enabled: bool | None = None
