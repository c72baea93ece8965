"""Webhook endpoints for tenants (SPEC §8.3, ADR 0080): create (the secret shown once), list, read,
update, delete, rotate the secret, send a test event; the delivery log and manual retries.

Rules only: storage, the key box, the queue and DNS are ports; business time is a `Clock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from meterplex.platform.audit import Actor
from meterplex.platform.clock import Clock, business_clock, iso, system_clock
from meterplex.platform.errors import Conflict
from meterplex.platform.events import DomainEvent
from meterplex.platform.ids import new_id
from meterplex.platform.pagination import Key
from meterplex.webhooks import events, signing
from meterplex.webhooks.catalog import WebhookEventType, webhook_body
from meterplex.webhooks.dispatch import new_delivery
from meterplex.webhooks.models import (
    ROTATION_OVERLAP_HOURS,
    Delivery,
    DeliveryRef,
    DisabledReason,
    Endpoint,
    restarted,
)
from meterplex.webhooks.repository import SealedSecrets, delivery_not_found, endpoint_not_found
from meterplex.webhooks.ssrf import Resolver, check_url

TEST_MESSAGE = "A test event from Meterplex: this endpoint receives webhooks."


class Store(Protocol):
    """`meterplex.webhooks.repository.WebhookRepository`."""

    def create_endpoint(self, endpoint: Endpoint, secret: str, events: Sequence[DomainEvent]) -> None: ...
    def endpoints(self, tenant_id: str) -> list[Endpoint]: ...
    def endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint | None: ...
    def endpoint_with_secrets(
        self, tenant_id: str, endpoint_id: str
    ) -> tuple[Endpoint, SealedSecrets] | None: ...
    def update_endpoint(
        self, before: Endpoint, after: Endpoint, events: Sequence[DomainEvent]
    ) -> Endpoint: ...
    def rotate_secret(
        self,
        before: Endpoint,
        sealed: SealedSecrets,
        new_secret: str,
        after: Endpoint,
        events: Sequence[DomainEvent],
    ) -> Endpoint: ...
    def delete_endpoint(self, endpoint: Endpoint, events: Sequence[DomainEvent]) -> None: ...
    def create_delivery(self, delivery: Delivery, events: Sequence[DomainEvent] = ()) -> bool: ...
    def delivery(self, ref: DeliveryRef) -> Delivery | None: ...
    def deliveries(
        self, tenant_id: str, endpoint_id: str, start: Key | None, limit: int
    ) -> tuple[list[Delivery], Key | None]: ...
    def restart(
        self, ref: DeliveryRef, *, now: datetime, real_now_ms: int, events: Sequence[DomainEvent]
    ) -> Delivery: ...


class Sealer(Protocol):
    def seal(self, secret: str, tenant_id: str, endpoint_id: str) -> str: ...


class Queue(Protocol):
    def enqueue(self, refs: Iterable[DeliveryRef]) -> int: ...


@dataclass(frozen=True)
class EndpointChanges:
    """A PATCH: only the fields given change (`description=None` with `clear_description` clears)."""

    url: str | None = None
    event_types: tuple[WebhookEventType, ...] | None = None
    description: str | None = None
    clear_description: bool = False
    enabled: bool | None = None


def endpoint_disabled(endpoint_id: str) -> Conflict:
    return Conflict(
        f"Webhook endpoint {endpoint_id} is disabled; enable it first (PATCH enabled: true)",
        code="WEBHOOK_ENDPOINT_DISABLED",
    )


class WebhookService:
    def __init__(
        self,
        store: Store,
        sealer: Sealer,
        queue: Queue,
        *,
        local: bool,
        resolve: Resolver,
        clock: Clock = business_clock,
        real_clock: Clock = system_clock,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.queue = queue
        self.local = local
        self.resolve = resolve
        self.clock = clock
        self.real = real_clock

    def _check_url(self, url: str) -> None:
        check_url(url, local=self.local, resolve=self.resolve)

    def _endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        endpoint = self.store.endpoint(tenant_id, endpoint_id)
        if endpoint is None:
            raise endpoint_not_found(endpoint_id)
        return endpoint

    # -- endpoints ---------------------------------------------------------------------------
    def create(
        self,
        tenant_id: str,
        *,
        url: str,
        event_types: Sequence[WebhookEventType],
        description: str | None,
        enabled: bool,
        actor: Actor,
    ) -> tuple[Endpoint, str]:
        """The new endpoint and its signing secret (the only time the secret is shown)."""
        self._check_url(url)
        now = self.clock.now()
        endpoint = Endpoint(
            id=new_id(),
            tenant_id=tenant_id,
            url=url,
            event_types=tuple(dict.fromkeys(event_types)),
            description=description,
            enabled=enabled,
            created_at=now,
            updated_at=now,
            disabled_reason=None if enabled else DisabledReason.MANUAL,
            disabled_at=None if enabled else now,
            secret_created_at=now,
        )
        secret = signing.new_secret()
        sealed = self.sealer.seal(secret, tenant_id, endpoint.id)
        self.store.create_endpoint(
            endpoint, sealed, [events.endpoint_audit(events.CREATED, actor, None, endpoint)]
        )
        return endpoint, secret

    def endpoints(self, tenant_id: str) -> list[Endpoint]:
        return self.store.endpoints(tenant_id)

    def endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint:
        return self._endpoint(tenant_id, endpoint_id)

    def update(self, tenant_id: str, endpoint_id: str, changes: EndpointChanges, *, actor: Actor) -> Endpoint:
        before = self._endpoint(tenant_id, endpoint_id)
        if changes.url is not None and changes.url != before.url:
            self._check_url(changes.url)
        now = self.clock.now()
        after = replace(
            before,
            url=changes.url if changes.url is not None else before.url,
            event_types=tuple(dict.fromkeys(changes.event_types))
            if changes.event_types
            else before.event_types,
            description=None
            if changes.clear_description
            else (changes.description if changes.description is not None else before.description),
            updated_at=now,
        )
        if changes.enabled is True and not before.enabled:
            after = replace(after, enabled=True, disabled_reason=None, disabled_at=None, failing_since=None)
        elif changes.enabled is False and before.enabled:
            after = replace(after, enabled=False, disabled_reason=DisabledReason.MANUAL, disabled_at=now)
        return self.store.update_endpoint(
            before, after, [events.endpoint_audit(events.UPDATED, actor, before, after)]
        )

    def delete(self, tenant_id: str, endpoint_id: str, *, actor: Actor) -> None:
        endpoint = self._endpoint(tenant_id, endpoint_id)
        self.store.delete_endpoint(endpoint, [events.endpoint_audit(events.DELETED, actor, endpoint, None)])

    def rotate_secret(self, tenant_id: str, endpoint_id: str, *, actor: Actor) -> tuple[Endpoint, str]:
        """A new secret; the current one stays valid for ROTATION_OVERLAP_HOURS (both signatures)."""
        found = self.store.endpoint_with_secrets(tenant_id, endpoint_id)
        if found is None:
            raise endpoint_not_found(endpoint_id)
        before, sealed = found
        now = self.clock.now()
        secret = signing.new_secret()
        after = replace(
            before,
            secret_created_at=now,
            previous_secret_expires_at=now + timedelta(hours=ROTATION_OVERLAP_HOURS),
            updated_at=now,
        )
        rotated = self.store.rotate_secret(
            before,
            sealed,
            self.sealer.seal(secret, tenant_id, endpoint_id),
            after,
            [events.endpoint_audit(events.SECRET_ROTATED, actor, before, after)],
        )
        return rotated, secret

    # -- deliveries --------------------------------------------------------------------------
    def send_test(self, tenant_id: str, endpoint_id: str, *, actor: Actor) -> Delivery:
        """A `webhook.test` delivery to this endpoint (whatever it subscribes to), enqueued; the
        delivery and its audit event are one transaction."""
        endpoint = self._endpoint(tenant_id, endpoint_id)
        if not endpoint.enabled:
            raise endpoint_disabled(endpoint_id)
        now = self.clock.now()
        event_id = new_id()
        type_ = WebhookEventType.WEBHOOK_TEST
        data = {"endpointId": endpoint.id, "message": TEST_MESSAGE}
        body = webhook_body(event_id, type_, iso(now), tenant_id, data)
        delivery = new_delivery(endpoint, event_id, type_, body, now, now)
        self.store.create_delivery(delivery, [events.delivery_audit(events.TEST_SENT, actor, None, delivery)])
        self.queue.enqueue([DeliveryRef(tenant_id, endpoint.id, delivery.id)])
        return delivery

    def deliveries(
        self, tenant_id: str, endpoint_id: str, start: Key | None, limit: int
    ) -> tuple[list[Delivery], Key | None]:
        self._endpoint(tenant_id, endpoint_id)
        return self.store.deliveries(tenant_id, endpoint_id, start, limit)

    def retry(self, tenant_id: str, endpoint_id: str, delivery_id: str, *, actor: Actor) -> Delivery:
        """Start the delivery over (any status), due now, and enqueue it; the restart and its audit
        event are one transaction."""
        endpoint = self._endpoint(tenant_id, endpoint_id)
        ref = DeliveryRef(tenant_id, endpoint_id, delivery_id)
        before = self.store.delivery(ref)
        if before is None:
            raise delivery_not_found(delivery_id)
        if not endpoint.enabled:
            raise endpoint_disabled(endpoint_id)
        now = self.clock.now()
        audit = events.delivery_audit(events.RETRIED, actor, before, restarted(before, now))
        after = self.store.restart(
            ref, now=now, real_now_ms=int(self.real.now().timestamp() * 1000), events=[audit]
        )
        self.queue.enqueue([ref])
        return after
