"""The pure dunning rules (ADR 0060) and the payment settings validated at cold start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from meterplex.payments import dunning
from meterplex.payments.models import Action, Collection, CollectionState
from meterplex.platform.settings import PaymentSettings

FIRST_FAILURE = datetime(2026, 3, 30, 17, 45, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 30, tzinfo=UTC)
SCHEDULE = (3, 8, 15)


def collection() -> Collection:
    return Collection(
        tenant_id="t",
        invoice_id="inv",
        invoice_number="INV-2026-0001",
        subscription_id="sub",
        amount=4_900,
        currency="usd",
        automatic=True,
        state=CollectionState.OPEN,
        created_at=FIRST_FAILURE - timedelta(minutes=1),
    )


def test_retries_are_due_at_midnight_utc_of_days_3_8_15_after_the_first_failure() -> None:
    due = [dunning.retry_due(FIRST_FAILURE, SCHEDULE, k) for k in (1, 2, 3)]
    assert due == [MIDNIGHT + timedelta(days=d) for d in SCHEDULE]  # across the month's end too
    assert dunning.retry_due(FIRST_FAILURE, SCHEDULE, 4) is None
    assert dunning.retry_due(FIRST_FAILURE, SCHEDULE, 0) is None


def test_four_failures_walk_past_due_three_times_then_unpaid() -> None:
    current = dunning.started(collection(), "p1", 1, FIRST_FAILURE - timedelta(minutes=1))
    assert (current.action, current.action_at) == (
        Action.CHECK_PENDING,
        FIRST_FAILURE + timedelta(hours=11, minutes=59),
    )
    states = []
    for attempt in (1, 2, 3, 4):
        at = FIRST_FAILURE if attempt == 1 else current.action_at or FIRST_FAILURE
        current, due = dunning.failed(current, attempt, at, SCHEDULE)
        states.append((current.state, due, dunning.standing_level(current)))
    assert states == [
        (CollectionState.PAST_DUE, MIDNIGHT + timedelta(days=3), "PAST_DUE"),
        (CollectionState.PAST_DUE, MIDNIGHT + timedelta(days=8), "PAST_DUE"),
        (CollectionState.PAST_DUE, MIDNIGHT + timedelta(days=15), "PAST_DUE"),
        (CollectionState.UNPAID, None, "UNPAID"),
    ]
    assert current.first_failed_at == FIRST_FAILURE  # later failures never move the schedule
    assert (current.action, current.action_at) == (None, None)


def test_a_settled_or_closed_collection_puts_its_tenant_in_no_dunning() -> None:
    failed, _ = dunning.failed(collection(), 1, FIRST_FAILURE, SCHEDULE)
    for after in (dunning.settled(failed), dunning.closed(failed)):
        assert dunning.standing_level(after) is None and after.closed and after.action is None


BASE = {"MP_CORE_TABLE": "core"}


def test_the_fake_is_the_default_with_retries_on_days_3_8_15() -> None:
    settings = PaymentSettings.from_env(BASE)
    assert (settings.payment_provider, settings.retry_days, settings.exhausted) == (
        "fake",
        SCHEDULE,
        "unpaid",
    )


def test_an_unknown_provider_fails_settings_validation_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="MP_PAYMENT_PROVIDER"):
        PaymentSettings.from_env(BASE | {"MP_PAYMENT_PROVIDER": "paypal"})


@pytest.mark.parametrize("days", ["8,3", "0,3", "3,3", "three"])
def test_a_retry_schedule_must_be_increasing_days(days: str) -> None:
    with pytest.raises(ValidationError, match="MP_PAYMENT_RETRY_DAYS"):
        PaymentSettings.from_env(BASE | {"MP_PAYMENT_RETRY_DAYS": days})


def test_stripe_without_credentials_fails_at_cold_start() -> None:
    with pytest.raises(ValidationError, match="MP_STRIPE_SECRET_ARN"):
        PaymentSettings.from_env(BASE | {"MP_PAYMENT_PROVIDER": "stripe"})
