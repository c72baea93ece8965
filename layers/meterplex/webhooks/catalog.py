"""The one declared table of what reaches tenants' endpoints (ADR 0080): which source events on
which topics become which webhook event types, and the body every delivery carries.

The topology declares `webhook_dispatcher`'s Kafka triggers from `SOURCE_TOPICS`; the dispatcher
maps each event with `webhook_type_of`. A producer that starts publishing a listed type (payments'
`payment.*`, ADR 0060) is fanned out at once; a new producer topic is one line here. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from meterplex.billing import events as invoice_events
from meterplex.entitlements.thresholds import THRESHOLD_REACHED
from meterplex.platform import topics
from meterplex.platform.events import DomainEvent
from meterplex.subscriptions import events as subscription_events


class WebhookEventType(StrEnum):
    """What an endpoint may subscribe to (SPEC §8.3, plus `payment.refunded`)."""

    INVOICE_CREATED = "invoice.created"
    INVOICE_FINALIZED = "invoice.finalized"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated"
    SUBSCRIPTION_CANCELLED = "subscription.cancelled"
    SUBSCRIPTION_PAST_DUE = "subscription.past_due"
    USAGE_THRESHOLD_REACHED = "usage.threshold_reached"
    WEBHOOK_TEST = "webhook.test"


T = WebhookEventType

# The topics the dispatcher consumes: the invoice lifecycle (billing), and the domain events of
# every write (subscriptions, payments' outcomes, usage thresholds).
SOURCE_TOPICS: tuple[str, ...] = (topics.BILLING, topics.DOMAIN)

# source event type → webhook event type (exact matches first)
SOURCES: Mapping[str, WebhookEventType] = {
    invoice_events.CREATED: T.INVOICE_CREATED,
    invoice_events.FINALIZED: T.INVOICE_FINALIZED,
    invoice_events.PAID: T.INVOICE_PAID,
    invoice_events.VOIDED: T.INVOICE_VOIDED,
    "payment.succeeded": T.PAYMENT_SUCCEEDED,  # produced by payments (ADR 0060)
    "payment.failed": T.PAYMENT_FAILED,
    "payment.refunded": T.PAYMENT_REFUNDED,
    subscription_events.CREATED: T.SUBSCRIPTION_CREATED,
    subscription_events.CANCELLED: T.SUBSCRIPTION_CANCELLED,
    subscription_events.ENDED: T.SUBSCRIPTION_CANCELLED,
    "subscription.past_due": T.SUBSCRIPTION_PAST_DUE,  # produced by payments (ADR 0060)
    THRESHOLD_REACHED: T.USAGE_THRESHOLD_REACHED,
}
# Any other subscription change (cancel_scheduled, activated, renewed, and what comes later: the
# unpaid/restored standing of ADR 0060) is an update of the subscription.
PREFIXES: tuple[tuple[str, WebhookEventType], ...] = (("subscription.", T.SUBSCRIPTION_UPDATED),)


def webhook_type_of(source_type: str) -> WebhookEventType | None:
    """The webhook type a source event becomes, or None when tenants are not told of it."""
    found = SOURCES.get(source_type)
    if found is not None:
        return found
    return next((webhook for prefix, webhook in PREFIXES if source_type.startswith(prefix)), None)


def payload_data(event: DomainEvent) -> dict[str, Any]:
    """What `data` carries: the resource as it stands after the change (`changes` of the domain
    shape `{resource, resourceId, changes}`), else the event's data as it is."""
    data = event.data if isinstance(event.data, dict) else {}
    changes = data.get("changes")
    if isinstance(changes, dict) and "resource" in data:
        return dict(changes)
    return dict(data)


def webhook_body(event_id: str, type_: WebhookEventType, created_at: str, tenant_id: str, data: Any) -> str:
    """The body of every delivery (SPEC §8.3), compact JSON: stored once, sent byte for byte."""
    body = {"id": event_id, "type": type_.value, "createdAt": created_at, "tenantId": tenant_id, "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=False)


def body_of(event: DomainEvent) -> tuple[WebhookEventType, str] | None:
    """The webhook type and body of a source event, or None when it is not for tenants."""
    type_ = webhook_type_of(event.type)
    if type_ is None or not event.tenantId:
        return None
    return type_, webhook_body(event.id, type_, event.occurredAt, event.tenantId, payload_data(event))
