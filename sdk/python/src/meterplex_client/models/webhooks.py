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
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str


class WebhookSecret(Model):
    secret: str


class WebhookDelivery(Model):
    id: str
    endpoint_id: str | None = None
    event_id: str | None = None
    event_type: str | None = None
    status: str
    attempts: int | None = None
    last_status_code: int | None = None
    next_retry_at: datetime | None = None
    created_at: datetime | None = None


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
