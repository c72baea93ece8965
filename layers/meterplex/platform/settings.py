"""Validated settings, composed from small mixins and read once per process (at cold start).

A missing or malformed variable fails loudly at start-up, naming the variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from itertools import pairwise
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meterplex.platform import env


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if environ is None else environ))


PROD_STAGE = "prod"


class StageSettings(_Settings):
    stage: str = Field("local", alias=env.STAGE, pattern=r"^[a-z][a-z0-9-]{1,20}$")

    @property
    def is_local(self) -> bool:
        return self.stage in {"local", "test"}


class CoreTableSettings(_Settings):
    core_table: str = Field(alias=env.CORE_TABLE, min_length=3)


class UsageTableSettings(_Settings):
    usage_table: str = Field(alias=env.USAGE_TABLE, min_length=3)


class UsageWindowSettings(_Settings):
    """How late or early a usage event may be (SPEC §6; configurable)."""

    late_window_days: int = Field(35, alias=env.USAGE_LATE_WINDOW_DAYS, ge=1, le=365)
    future_skew_s: int = Field(300, alias=env.USAGE_FUTURE_SKEW_S, ge=0, le=86_400)


class UsageSettings(StageSettings, CoreTableSettings, UsageTableSettings, UsageWindowSettings):
    """usage_api and usage_aggregator: both tables and the ingestion window."""


class BillingSettings(StageSettings, CoreTableSettings, UsageWindowSettings):
    """billing_api, invoice_worker, billing_scheduler: the core table and how late usage may be."""


class ReconciliationSettings(StageSettings, CoreTableSettings, UsageTableSettings, UsageWindowSettings):
    """reconciler and reconciliation_api (ADR 0095)."""

    settle_s: int = Field(900, alias=env.RECONCILIATION_SETTLE_S, ge=0, le=86_400)
    scan_segments: int = Field(4, alias=env.RECONCILIATION_SCAN_SEGMENTS, ge=1, le=64)
    reconciler_function: str = Field("reconciler", alias=env.RECONCILER_FUNCTION, min_length=1)


class StripeSettings(_Settings):
    """The Stripe adapter's credentials: the secret's ARN in AWS, the values themselves locally."""

    stripe_secret_arn: str | None = Field(None, alias=env.STRIPE_SECRET_ARN)
    stripe_api_key: str | None = Field(None, alias=env.STRIPE_API_KEY, min_length=4)
    stripe_webhook_secret: str | None = Field(None, alias=env.STRIPE_WEBHOOK_SECRET, min_length=4)
    stripe_api_base: str | None = Field(None, alias=env.STRIPE_API_BASE, pattern=r"^https?://")


class PaymentSettings(StageSettings, CoreTableSettings, StripeSettings):
    """Payments (SPEC §8.2, ADR 0060): which provider, the dunning schedule, what exhaustion does.
    An unknown provider name fails here, at cold start, naming the variable."""

    payment_provider: Literal["fake", "stripe"] = Field("fake", alias=env.PAYMENT_PROVIDER)
    retry_days_text: str = Field(
        "3,8,15", alias=env.PAYMENT_RETRY_DAYS, pattern=r"^\s*\d{1,3}(\s*,\s*\d{1,3}){0,9}\s*$"
    )
    exhausted: Literal["unpaid", "cancel"] = Field("unpaid", alias=env.PAYMENT_EXHAUSTED)

    @model_validator(mode="after")
    def _valid(self) -> Self:
        days = self.retry_days
        if any(b <= a for a, b in pairwise(days)) or days[0] < 1:
            raise ValueError(f"{env.PAYMENT_RETRY_DAYS} must be increasing days ≥ 1, e.g. 3,8,15")
        if self.payment_provider == "stripe" and not (self.stripe_secret_arn or self.stripe_api_key):
            raise ValueError(f"the stripe provider needs {env.STRIPE_SECRET_ARN} or {env.STRIPE_API_KEY}")
        return self

    @property
    def retry_days(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.retry_days_text.split(","))


class JwtSettings(_Settings):
    jwt_secret: str | None = Field(None, alias=env.JWT_SECRET, min_length=32)
    jwt_secret_arn: str | None = Field(None, alias=env.JWT_SECRET_ARN)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if not (self.jwt_secret or self.jwt_secret_arn):
            raise ValueError(f"set {env.JWT_SECRET} (local) or {env.JWT_SECRET_ARN} (AWS)")
        return self


class KafkaSettings(_Settings):
    kafka_bootstrap: str = Field(alias=env.KAFKA_BOOTSTRAP, min_length=3)
    kafka_auth: Literal["plaintext", "iam"] = Field("plaintext", alias=env.KAFKA_AUTH)
    # how long a produced message may wait for the broker before its delivery fails (the relay
    # reports it and the event source mapping retries); tests of a broker outage shorten it
    kafka_message_timeout_ms: int = Field(30_000, alias=env.KAFKA_MESSAGE_TIMEOUT_MS, ge=100, le=300_000)


class RateLimitSettings(_Settings):
    """SPEC §1 defaults; every limit is configurable."""

    login_per_ip_per_minute: int = Field(10, alias="MP_RATE_LOGIN_PER_IP", ge=1)
    login_failures_per_email: int = Field(5, alias="MP_RATE_LOGIN_FAILURES_PER_EMAIL", ge=1)
    login_failure_window_s: int = Field(900, alias="MP_RATE_LOGIN_FAILURE_WINDOW_S", ge=1)
    register_per_ip_per_minute: int = Field(5, alias="MP_RATE_REGISTER_PER_IP", ge=1)
    forgot_per_ip_per_minute: int = Field(5, alias="MP_RATE_FORGOT_PER_IP", ge=1)


class AuthorizerCacheSettings(_Settings):
    """How long API Gateway (and the local gateway) reuse an authorizer result for one token: the
    revocation lag of reads (writes re-check the current state; ADR 0031). At most 30 s by
    default; 0 turns the cache off; API Gateway allows up to 3600."""

    authorizer_cache_ttl_s: int = Field(30, alias=env.AUTHORIZER_CACHE_TTL, ge=0, le=3600)


class PasswordSettings(_Settings):
    bcrypt_rounds: int = Field(12, alias=env.BCRYPT_ROUNDS, ge=4, le=16)


class IdentitySettings(StageSettings, CoreTableSettings, JwtSettings, RateLimitSettings, PasswordSettings):
    expose_reset_token: bool = Field(False, alias=env.EXPOSE_RESET_TOKEN)
    # how long an existing account's invitation into a tenant can be accepted (ADR 0033)
    invitation_ttl_days: int = Field(7, alias=env.INVITATION_TTL_DAYS, ge=1, le=30)


class ClockSettings(StageSettings):
    """The test clock (SPEC §8.1, ADR 0050): on by default in the local and test stages, off
    elsewhere unless `MP_TEST_CLOCK=true`, and refused for the prod stage."""

    test_clock: bool | None = Field(None, alias=env.TEST_CLOCK)

    @model_validator(mode="after")
    def _never_in_prod(self) -> Self:
        if self.test_clock and self.stage == PROD_STAGE:
            raise ValueError(f"{env.TEST_CLOCK} cannot be enabled in the {PROD_STAGE} stage")
        return self

    @property
    def test_clock_enabled(self) -> bool:
        return self.is_local if self.test_clock is None else self.test_clock


class AdminClockSettings(ClockSettings, CoreTableSettings):
    """admin_api: the schedules advance runs and its time bounds."""

    schedules: str = Field("[]", alias=env.SCHEDULES)
    advance_budget_s: float = Field(20.0, alias=env.CLOCK_ADVANCE_BUDGET_S, gt=0, le=900)
    completion_timeout_s: float = Field(30.0, alias=env.CLOCK_COMPLETION_TIMEOUT_S, gt=0, le=900)


class WebhookQueueSettings(_Settings):
    """The SQS queue that carries webhook attempts (ADR 0080)."""

    webhook_queue_url: str = Field(alias=env.WEBHOOK_QUEUE_URL, min_length=8)


class WebhookKeySettings(_Settings):
    """The KMS key of webhook signing secrets (ADR 0080)."""

    webhook_key: str = Field(alias=env.WEBHOOK_KEY, min_length=1)


class WebhookEndpointsApiSettings(StageSettings, CoreTableSettings, WebhookQueueSettings, WebhookKeySettings):
    """webhook_endpoints_api: endpoints (secrets encrypted), test events and manual retries (enqueued)."""


class WebhookDispatchSettings(StageSettings, CoreTableSettings, WebhookQueueSettings):
    """webhook_dispatcher: deliveries written, their first attempt enqueued."""


class WebhookDeliverySettings(StageSettings, CoreTableSettings, WebhookQueueSettings, WebhookKeySettings):
    """webhook_delivery: claims, signs (secrets decrypted), sends, records, re-enqueues retries."""

    webhook_timeout_s: float = Field(15.0, alias=env.WEBHOOK_TIMEOUT_S, gt=0, le=60)


class DeadLetterSettings(CoreTableSettings):
    """admin_api: the function each consumer's dead letters are re-delivered to (ADR 0091)."""

    dead_letter_targets: str = Field("{}", alias=env.DEAD_LETTER_TARGETS)

    def targets(self) -> dict[str, str]:
        raw = json.loads(self.dead_letter_targets or "{}")
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ValueError(f"{env.DEAD_LETTER_TARGETS} must be a JSON object of function names")
        return {str(k): v for k, v in raw.items()}


S = TypeVar("S", bound=_Settings)


@cache
def load(kind: type[S]) -> S:
    """The process-wide settings of one kind, validated on first use."""
    return kind.from_env()
