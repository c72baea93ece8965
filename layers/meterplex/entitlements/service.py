"""Check and consume (SPEC §5). Pure rules over a `GrantStore`-shaped port and a `Clock`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from meterplex.entitlements.grants import (
    BOOLEAN,
    Claim,
    ConsumeRejected,
    CounterMoved,
    Grant,
    check_answer,
    consume_answer,
)
from meterplex.entitlements.throughput import HighThroughput, ShardStore
from meterplex.platform.clock import Clock, business_clock, iso
from meterplex.platform.errors import (
    Conflict,
    Forbidden,
    MeterplexError,
    NotFound,
    PaymentRequired,
    Unavailable,
)

MAX_ROLL_ATTEMPTS = 3
# A keyed consume retries when another write moved the counter between its read and its write;
# each retry re-reads nothing (the failed write returns the grant), and a HARD quota that filled
# up meanwhile ends the retries with QUOTA_EXCEEDED. Past this many, 503: retry with the same key.
MAX_KEYED_ATTEMPTS = 25
BACKOFF_CAP_S = 0.02


class GrantStorePort(ShardStore, Protocol):
    """The hot path's storage (`store.GrantStore`); writes raise `ConsumeRejected`."""

    def get(self, tenant_id: str, feature_key: str) -> Grant | None: ...
    def set_throughput(self, tenant_id: str, feature_key: str, high: bool = True) -> Grant | None: ...
    def claim(self, tenant_id: str, idempotency_key: str) -> Claim | None: ...
    def add_usage_once(
        self, seen: Grant, amount: int, now: datetime, idempotency_key: str, answer: dict[str, Any]
    ) -> Claim | CounterMoved | None: ...
    def roll_window(self, grant: Grant, start: datetime, end: datetime | None) -> None: ...


def feature_not_in_plan(feature_key: str) -> NotFound:
    return NotFound(f"Feature '{feature_key}' is not in the tenant's plan", code="FEATURE_NOT_IN_PLAN")


class _RollWindow(Exception):
    """The grant still holds a closed window: open the current one, then try again."""

    def __init__(self, start: datetime, end: datetime | None) -> None:
        super().__init__("roll")
        self.start, self.end = start, end


class EntitlementService:
    def __init__(
        self,
        store: GrantStorePort,
        clock: Clock = business_clock,
        sleep: Callable[[float], None] = time.sleep,
        high: HighThroughput | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._high = high or HighThroughput(store)  # this execution environment's leases and views

    def check(self, tenant_id: str, feature_key: str, amount: int = 1) -> dict[str, Any]:
        """One read: the grant item carries the snapshot and the current window's counter (a
        sharded grant: one TransactGetItems of the grant and its window's shards, ADR 0071)."""
        now = self._clock.now()
        grant = self._store.get(tenant_id, feature_key)
        if grant is not None and grant.sharded and not grant.is_hard and not grant.ended(now):
            window = iso(grant.current_window(now)[0])
            fresh, shards = self._store.with_shards(grant, window)
            if fresh is not None:
                grant = replace(fresh, used=fresh.used_now(now) + sum(shards), window_start=window)
        return check_answer(grant, feature_key, amount, now)

    def consume(
        self, tenant_id: str, feature_key: str, amount: int = 1, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Count `amount` units: one conditional write; a HARD limit is never overshot. A grant on
        the high-throughput path is served from a lease or a counter shard (ADR 0071)."""
        if idempotency_key is not None:
            return self._consume_once(tenant_id, feature_key, amount, idempotency_key)
        known = self._high.known(tenant_id, feature_key)
        if known is not None:
            answer = self._high.consume(known, amount, self._clock.now())
            if answer is not None:
                return answer
        for _ in range(MAX_ROLL_ATTEMPTS):
            now = self._clock.now()
            try:
                grant = self._add_or_switch(tenant_id, feature_key, amount, now)
                if isinstance(grant, dict):
                    return grant
                self._high.remember(grant)
                return consume_answer(grant, feature_key, amount)
            except ConsumeRejected as rejected:
                try:
                    self._refuse(feature_key, rejected.grant, amount, now)
                except _RollWindow as roll:
                    assert rejected.grant is not None
                    self._store.roll_window(rejected.grant, roll.start, roll.end)
        raise feature_not_in_plan(feature_key)  # pragma: no cover - windows cannot roll 3 times

    def _add_or_switch(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant | dict:
        """The single-item write; when the item itself is throttled past every retry (the hot-key
        ceiling), the grant switches to the high-throughput path and the consume is served there."""
        try:
            return self._store.add_usage(tenant_id, feature_key, amount, now)
        except Unavailable:
            switched = self._store.set_throughput(tenant_id, feature_key)
            if switched is None or not switched.high_throughput:
                raise
            self._high.remember(switched)
            answer = self._high.consume(switched, amount, now)
            if answer is None:
                raise
            return answer

    def _consume_once(self, tenant_id: str, feature_key: str, amount: int, key: str) -> dict[str, Any]:
        """Consume bound to `key` (SPEC §0): the first answer is stored with the units it counted,
        in one transaction; the same key for another feature or amount is 409. ADR 0035."""
        grant = self._store.get(tenant_id, feature_key)
        for attempt in range(MAX_KEYED_ATTEMPTS):
            now = self._clock.now()
            try:
                self._refuse(feature_key, grant, amount, now)
            except _RollWindow as roll:
                assert grant is not None
                self._store.roll_window(grant, roll.start, roll.end)
                grant = self._store.get(tenant_id, feature_key)
                continue
            except MeterplexError:
                claim = self._store.claim(tenant_id, key)  # a retry of a request that succeeded?
                if claim is None:
                    raise
                return self._replay(claim, tenant_id, feature_key, amount, key)
            assert grant is not None
            answer = consume_answer(replace(grant, used=grant.used + amount), feature_key, amount)
            outcome = self._store.add_usage_once(grant, amount, now, key, answer)
            if outcome is None:
                return answer
            if isinstance(outcome, Claim):
                return self._replay(outcome, tenant_id, feature_key, amount, key)
            grant = outcome.grant
            self._sleep(random.uniform(0, min(BACKOFF_CAP_S, 0.001 * 2**attempt)))  # noqa: S311
        raise Unavailable(
            f"Too many concurrent consumes of '{feature_key}'; retry with the same idempotency key",
            code="CONTENTION",
            retry_after_s=1,
        )

    def _replay(
        self, claim: Claim, tenant_id: str, feature_key: str, amount: int, key: str
    ) -> dict[str, Any]:
        if not claim.answers(feature_key, amount):
            raise Conflict(
                f"Idempotency key '{key}' was used for another request "
                f"(feature '{claim.feature_key}', amount {claim.amount})",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        if claim.answer is not None:
            return claim.answer
        grant = self._store.get(tenant_id, feature_key)  # a claim written before answers were stored
        if grant is None:
            raise feature_not_in_plan(feature_key)
        return consume_answer(grant, feature_key, claim.amount)

    def _refuse(self, feature_key: str, grant: Grant | None, amount: int, now: datetime) -> None:
        """Why a consume of `amount` on `grant` (as read) cannot count: the caller's error, or
        `_RollWindow` when the window is stale. Returns when it can (what the write's condition
        checks, in the same order)."""
        if grant is None or grant.ended(now):
            raise feature_not_in_plan(feature_key)
        if grant.feature_type == BOOLEAN:
            raise Forbidden(
                f"Feature '{feature_key}' is a BOOLEAN feature and cannot be consumed",
                code="FEATURE_NOT_CONSUMABLE",
            )
        if grant.blocked_by_payment:
            raise PaymentRequired(
                f"The tenant's payments failed: '{feature_key}' cannot be consumed until an invoice is paid",
                code="PAYMENT_REQUIRED",
            )
        start, end = grant.current_window(now)
        if grant.window_start != iso(start):
            raise _RollWindow(start, end)
        if grant.is_hard and grant.used + amount > (grant.limit or 0):
            raise Forbidden(
                f"Quota for '{feature_key}' exceeded: {grant.used} of {grant.limit} used, {amount} requested",
                code="QUOTA_EXCEEDED",
            )
