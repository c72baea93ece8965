"""Check and consume (SPEC §5). Pure rules over a `GrantStore`-shaped port and a `Clock`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from meterplex.entitlements.grants import (
    BOOLEAN,
    ConsumeRejected,
    Duplicate,
    Grant,
    check_answer,
    consume_answer,
)
from meterplex.platform.clock import Clock, business_clock, iso
from meterplex.platform.errors import Forbidden, NotFound

MAX_ROLL_ATTEMPTS = 3


class GrantStorePort(Protocol):
    """The hot path's storage (`store.GrantStore`); writes raise `ConsumeRejected`."""

    def get(self, tenant_id: str, feature_key: str) -> Grant | None: ...
    def add_usage(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant: ...
    def add_usage_once(
        self, tenant_id: str, feature_key: str, amount: int, now: datetime, idempotency_key: str
    ) -> Duplicate | None: ...
    def record_answer(self, tenant_id: str, idempotency_key: str, answer: dict[str, Any]) -> None: ...
    def roll_window(self, grant: Grant, start: datetime, end: datetime | None) -> None: ...


def feature_not_in_plan(feature_key: str) -> NotFound:
    return NotFound(f"Feature '{feature_key}' is not in the tenant's plan", code="FEATURE_NOT_IN_PLAN")


class EntitlementService:
    def __init__(self, store: GrantStorePort, clock: Clock = business_clock) -> None:
        self._store = store
        self._clock = clock

    def check(self, tenant_id: str, feature_key: str, amount: int = 1) -> dict[str, Any]:
        """One read: the grant item carries the snapshot and the current window's counter."""
        return check_answer(self._store.get(tenant_id, feature_key), feature_key, amount, self._clock.now())

    def consume(
        self, tenant_id: str, feature_key: str, amount: int = 1, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Count `amount` units: one conditional write; a HARD limit is never overshot."""
        for _ in range(MAX_ROLL_ATTEMPTS):
            now = self._clock.now()
            try:
                if idempotency_key is None:
                    grant = self._store.add_usage(tenant_id, feature_key, amount, now)
                    return consume_answer(grant, feature_key, amount)
                duplicate = self._store.add_usage_once(tenant_id, feature_key, amount, now, idempotency_key)
                if duplicate is not None:
                    return self._replay(tenant_id, feature_key, duplicate)
                after = self._store.get(tenant_id, feature_key)
                assert after is not None
                answer = consume_answer(after, feature_key, amount)
                self._store.record_answer(tenant_id, idempotency_key, answer)
                return answer
            except ConsumeRejected as rejected:
                self._reject_or_roll(feature_key, rejected.grant, amount, now)
        raise feature_not_in_plan(feature_key)  # pragma: no cover - windows cannot roll 3 times

    def _replay(self, tenant_id: str, feature_key: str, duplicate: Duplicate) -> dict[str, Any]:
        if duplicate.answer is not None:
            return duplicate.answer
        grant = self._store.get(tenant_id, feature_key)  # first request still in flight
        if grant is None:
            raise feature_not_in_plan(feature_key)
        return consume_answer(grant, feature_key, duplicate.amount)

    def _reject_or_roll(self, feature_key: str, grant: Grant | None, amount: int, now: datetime) -> None:
        """Why did the condition fail? Raise the caller's error, or roll a stale window (retry)."""
        if grant is None or grant.ended(now):
            raise feature_not_in_plan(feature_key)
        if grant.feature_type == BOOLEAN:
            raise Forbidden(
                f"Feature '{feature_key}' is a BOOLEAN feature and cannot be consumed",
                code="FEATURE_NOT_CONSUMABLE",
            )
        start, end = grant.current_window(now)
        if grant.window_start != iso(start):
            self._store.roll_window(grant, start, end)
            return
        raise Forbidden(
            f"Quota for '{feature_key}' exceeded: {grant.used} of {grant.limit} used, {amount} requested",
            code="QUOTA_EXCEEDED",
        )
