"""The dispatcher (SPEC §8.3, ADR 0080): each source event fanned out to the tenant's enabled
endpoints that subscribe to its type — one delivery per (event, endpoint), created once however
often Kafka redelivers the event (a deterministic id and a conditional put), and its first attempt
enqueued. A replayed event creates nothing and enqueues nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from meterplex.platform.clock import parse_iso
from meterplex.platform.events import DomainEvent
from meterplex.webhooks.catalog import WebhookEventType, body_of
from meterplex.webhooks.models import Delivery, DeliveryRef, DeliveryStatus, Endpoint, delivery_id


class Store(Protocol):
    def endpoints(self, tenant_id: str) -> list[Endpoint]: ...
    def create_delivery(self, delivery: Delivery) -> bool: ...


class Queue(Protocol):
    def enqueue(self, refs: Iterable[DeliveryRef]) -> int: ...


@dataclass(frozen=True)
class Dispatched:
    created: int
    replayed: int  # deliveries that existed already


def new_delivery(
    endpoint: Endpoint,
    event_id: str,
    type_: WebhookEventType,
    body: str,
    occurred_at: datetime,
    now: datetime,
) -> Delivery:
    """A PENDING delivery of one event to one endpoint, due now."""
    return Delivery(
        id=delivery_id(event_id, endpoint.id, occurred_at),
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=type_,
        payload=body,
        status=DeliveryStatus.PENDING,
        created_at=now,
        next_attempt_at=now,
    )


class Dispatcher:
    def __init__(self, store: Store, queue: Queue) -> None:
        self.store = store
        self.queue = queue
        self._endpoints: dict[str, list[Endpoint]] = {}

    def begin_batch(self) -> None:
        """Endpoints are read once per tenant per batch."""
        self._endpoints.clear()

    def endpoints_of(self, tenant_id: str) -> list[Endpoint]:
        if tenant_id not in self._endpoints:
            self._endpoints[tenant_id] = self.store.endpoints(tenant_id)
        return self._endpoints[tenant_id]

    def dispatch(self, event: DomainEvent, now: datetime) -> Dispatched:
        found = body_of(event)
        if found is None:
            return Dispatched(0, 0)
        type_, body = found
        wanted = [e for e in self.endpoints_of(event.tenantId) if e.wants(type_)]
        if not wanted:
            return Dispatched(0, 0)
        occurred_at = parse_iso(event.occurredAt)
        created: list[DeliveryRef] = []
        for endpoint in wanted:
            delivery = new_delivery(endpoint, event.id, type_, body, occurred_at, now)
            if self.store.create_delivery(delivery):
                created.append(DeliveryRef(delivery.tenant_id, delivery.endpoint_id, delivery.id))
        if created:
            self.queue.enqueue(created)
        return Dispatched(len(created), len(wanted) - len(created))
