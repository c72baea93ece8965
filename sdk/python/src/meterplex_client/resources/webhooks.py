"""Outbound webhook endpoints of the tenant (SPEC §8.3, OWNER/ADMIN)."""

from __future__ import annotations

from collections.abc import Sequence

from meterplex_client.endpoint import Args, M, Resource, endpoint
from meterplex_client.models.base import Page
from meterplex_client.models.webhooks import (
    CreateWebhookEndpointRequest,
    UpdateWebhookEndpointRequest,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreated,
    WebhookSecret,
    WebhookTestEvent,
)
from meterplex_client.resources.paging import page_params


def _strings(values: Sequence[str]) -> list[str]:
    return [str(v) for v in values]


class WebhookEndpoints(Resource[M]):
    @endpoint(
        "POST", "/webhook-endpoints", response=WebhookEndpointCreated, body=CreateWebhookEndpointRequest
    )
    def create(
        self,
        url: str,
        event_types: Sequence[str],
        *,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Args:
        """Register an endpoint; `secret` (`whsec_…`) is shown only in this answer."""
        body = CreateWebhookEndpointRequest(
            url=url, event_types=_strings(event_types), description=description, enabled=enabled
        )
        return Args(json=body)

    @endpoint("GET", "/webhook-endpoints", response=Page[WebhookEndpoint])
    def list(self, *, page: int | None = None, limit: int | None = None) -> Args:
        return Args(params=page_params(page, limit))

    @endpoint("GET", "/webhook-endpoints/{id}", response=WebhookEndpoint)
    def get(self, endpoint_id: str) -> Args:
        return Args.of(endpoint_id)

    @endpoint("PATCH", "/webhook-endpoints/{id}", response=WebhookEndpoint, body=UpdateWebhookEndpointRequest)
    def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Args:
        types = _strings(event_types) if event_types is not None else None
        body = UpdateWebhookEndpointRequest(
            url=url, event_types=types, description=description, enabled=enabled
        )
        return Args.of(endpoint_id, json=body)

    @endpoint("DELETE", "/webhook-endpoints/{id}", response=type(None))
    def delete(self, endpoint_id: str) -> Args:
        return Args.of(endpoint_id)

    @endpoint("POST", "/webhook-endpoints/{id}/rotate-secret", response=WebhookSecret)
    def rotate_secret(self, endpoint_id: str) -> Args:
        """A new secret; the old one stays valid for 24 h (both signatures are sent)."""
        return Args.of(endpoint_id)

    @endpoint("POST", "/webhook-endpoints/{id}/test", response=WebhookTestEvent)
    def test(self, endpoint_id: str) -> Args:
        """Send a `webhook.test` event (202)."""
        return Args.of(endpoint_id)

    @endpoint("GET", "/webhook-endpoints/{id}/deliveries", response=Page[WebhookDelivery])
    def deliveries(self, endpoint_id: str, *, limit: int | None = None, cursor: str | None = None) -> Args:
        """Newest first, each with its attempts; `meta.nextCursor` pages on."""
        return Args.of(endpoint_id, params=page_params(None, limit, cursor))

    @endpoint("POST", "/webhook-endpoints/{id}/deliveries/{deliveryId}/retry", response=WebhookDelivery)
    def retry_delivery(self, endpoint_id: str, delivery_id: str) -> Args:
        return Args.of(endpoint_id, delivery_id)
