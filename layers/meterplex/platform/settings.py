"""Validated settings, composed from small mixins and read once per process (at cold start).

A missing or malformed variable fails loudly at start-up, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meterplex.platform import env


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        return cls.model_validate(dict(os.environ if environ is None else environ))


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


class RateLimitSettings(_Settings):
    """SPEC §1 defaults; every limit is configurable."""

    login_per_ip_per_minute: int = Field(10, alias="MP_RATE_LOGIN_PER_IP", ge=1)
    login_failures_per_email: int = Field(5, alias="MP_RATE_LOGIN_FAILURES_PER_EMAIL", ge=1)
    login_failure_window_s: int = Field(900, alias="MP_RATE_LOGIN_FAILURE_WINDOW_S", ge=1)
    register_per_ip_per_minute: int = Field(5, alias="MP_RATE_REGISTER_PER_IP", ge=1)
    forgot_per_ip_per_minute: int = Field(5, alias="MP_RATE_FORGOT_PER_IP", ge=1)


class IdentitySettings(StageSettings, CoreTableSettings, JwtSettings, RateLimitSettings):
    expose_reset_token: bool = Field(False, alias=env.EXPOSE_RESET_TOKEN)
    bcrypt_rounds: int = Field(12, alias=env.BCRYPT_ROUNDS, ge=4, le=16)


S = TypeVar("S", bound=_Settings)


@cache
def load(kind: type[S]) -> S:
    """The process-wide settings of one kind, validated on first use."""
    return kind.from_env()
