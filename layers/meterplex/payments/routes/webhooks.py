"""POST /api/v1/webhooks/stripe and /api/v1/webhooks/fake (public: the provider calls them).

Verify (a bad signature, timestamp or body → 400, nothing stored), store the event once (keyed by
the provider's event id: a redelivery changes nothing), answer 200. Processing happens from the
stored event, in `payment_events` (ADR 0060). The fake's route answers 404 in production.
"""

from __future__ import annotations

import base64
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.metrics import MetricUnit

from meterplex.payments.dependencies import intake, providers_by_name
from meterplex.payments.fake import FakeWebhook
from meterplex.payments.schemas import WebhookAck
from meterplex.platform.errors import NotFound
from meterplex.platform.observability import logger, metrics

router = Router()
TAGS = ["Provider webhooks"]


def _receive(name: str) -> WebhookAck:
    provider = providers_by_name().get(name)
    if provider is None:
        event = router.current_event
        raise NotFound(f"No route for {event.http_method} {event.path}", code="ROUTE_NOT_FOUND")
    event = router.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    try:
        stored, new = intake().receive(provider, body, dict(event.headers or {}))
    except Exception:
        metrics.add_metric(name="PaymentWebhooksRejected", unit=MetricUnit.Count, value=1)
        raise
    logger.info("provider event stored", provider=name, event_id=stored.event_id, type=stored.type, new=new)
    return WebhookAck(event_id=stored.event_id, duplicate=not new)


@router.post(
    "/api/v1/webhooks/stripe",
    summary="Stripe's webhook (raw body + Stripe-Signature, 300 s tolerance): stored, then processed",
    tags=TAGS,
)
def stripe_webhook() -> WebhookAck:
    return _receive("stripe")


@router.post(
    "/api/v1/webhooks/fake",
    summary="The fake provider's webhook (local and test stages only): stored, then processed",
    tags=TAGS,
)
def fake_webhook(body: Annotated[FakeWebhook, Body()]) -> WebhookAck:
    return _receive("fake")
