"""The webhook services wired to AWS once per process (cold start): DynamoDB, KMS, SQS, DNS."""

from __future__ import annotations

from functools import cache

from meterplex.webhooks.service import WebhookService


@cache
def webhook_service() -> WebhookService:
    from meterplex.platform.settings import WebhookEndpointsApiSettings, load
    from meterplex.webhooks.queue import AttemptQueue
    from meterplex.webhooks.repository import WebhookRepository
    from meterplex.webhooks.secrets import SecretBox
    from meterplex.webhooks.ssrf import system_resolver

    settings = load(WebhookEndpointsApiSettings)
    return WebhookService(
        WebhookRepository(),
        SecretBox(settings.webhook_key),
        AttemptQueue(settings.webhook_queue_url),
        local=settings.is_local,
        resolve=system_resolver,
    )
