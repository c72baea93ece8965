"""What one attempt makes of a delivery (SPEC §8.3, ADR 0080), pure: the next state, and what the
endpoint's health must note."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from meterplex.webhooks.models import (
    FAILING_DAYS_TO_DISABLE,
    MAX_LOGGED_ATTEMPTS,
    Attempt,
    Delivery,
    DeliveryStatus,
)
from meterplex.webhooks.retries import RETRY_AFTER_STATUSES, next_attempt_at

GONE = 410


@dataclass(frozen=True)
class Outcome:
    """What the receiver did: an HTTP status (None: no answer — timeout, refused, DNS, SSRF)."""

    status_code: int | None
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Health(Enum):
    """What the endpoint's record must note after an attempt."""

    SUCCEEDED = "succeeded"  # end a failing streak
    FAILED = "failed"  # start (or continue) one
    GONE = "gone"  # 410: disable it


def logged(delivery: Delivery, attempt: Attempt, **changes: object) -> Delivery:
    """`delivery` with one more attempt in its log (the last MAX_LOGGED_ATTEMPTS are kept)."""
    attempts = (*delivery.attempts, attempt)[-MAX_LOGGED_ATTEMPTS:]
    return replace(delivery, attempts=attempts, attempt_count=delivery.attempt_count + 1, **changes)  # type: ignore[arg-type]


def after_attempt(delivery: Delivery, outcome: Outcome, at: datetime) -> tuple[Delivery, Health]:
    """The delivery after an attempt at `at` (business time) had `outcome`."""
    attempt = Attempt(
        number=delivery.attempt_count + 1,
        at=at,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
        manual=delivery.manual,
    )
    common = {"manual": False, "last_status_code": outcome.status_code}
    if outcome.succeeded:
        after = logged(
            delivery,
            attempt,
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=at,
            next_attempt_at=None,
            **common,
        )
        return after, Health.SUCCEEDED
    if outcome.status_code == GONE:
        return logged(
            delivery, attempt, status=DeliveryStatus.FAILED, next_attempt_at=None, **common
        ), Health.GONE
    step = delivery.step + 1
    retry_after = outcome.retry_after if outcome.status_code in RETRY_AFTER_STATUSES else None
    following = next_attempt_at(delivery.id, step, at, retry_after)
    status = DeliveryStatus.PENDING if following is not None else DeliveryStatus.EXHAUSTED
    after = logged(delivery, attempt, status=status, step=step, next_attempt_at=following, **common)
    return after, Health.FAILED


def not_sent(delivery: Delivery, reason: str, at: datetime) -> Delivery:
    """The delivery stopped without an attempt (its endpoint disabled or deleted): FAILED, with
    the reason in its log."""
    attempt = Attempt(
        number=delivery.attempt_count + 1,
        at=at,
        status_code=None,
        latency_ms=0,
        error=reason,
        manual=delivery.manual,
    )
    return logged(delivery, attempt, status=DeliveryStatus.FAILED, next_attempt_at=None, manual=False)


def failing_too_long(failing_since: datetime | None, now: datetime) -> bool:
    """An endpoint failing for 5 days (no success since `failing_since`) is disabled."""
    return failing_since is not None and now - failing_since >= timedelta(days=FAILING_DAYS_TO_DISABLE)
