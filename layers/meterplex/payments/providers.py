"""Which adapter serves the `PaymentProvider` port: `MP_PAYMENT_PROVIDER` (validated at cold start
by `PaymentSettings`: an unknown name fails there). Stripe's credentials come from Secrets Manager
in AWS (`MP_STRIPE_SECRET_ARN`: JSON `{apiKey, webhookSecret}`), from settings locally."""

from __future__ import annotations

import json

from meterplex.payments.fake import FakeProvider
from meterplex.payments.provider import PaymentProvider
from meterplex.platform.settings import PaymentSettings

SECRET_CACHE_S = 300


def stripe_credentials(settings: PaymentSettings) -> tuple[str, str]:
    """(API key, webhook signing secret)."""
    if settings.stripe_secret_arn and not settings.stripe_api_key:
        from aws_lambda_powertools.utilities.parameters import get_secret

        raw = json.loads(str(get_secret(settings.stripe_secret_arn, max_age=SECRET_CACHE_S)))
        return str(raw["apiKey"]), str(raw.get("webhookSecret") or "")
    return str(settings.stripe_api_key), str(settings.stripe_webhook_secret or "")


def provider_from(settings: PaymentSettings) -> PaymentProvider:
    if settings.payment_provider == "fake":
        return FakeProvider()
    from meterplex.payments.stripe_provider import StripeProvider  # the stripe library, only when used

    api_key, webhook_secret = stripe_credentials(settings)
    return StripeProvider(api_key, webhook_secret, api_base=settings.stripe_api_base)
