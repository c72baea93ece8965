"""The hot path (SPEC §5): check (optionally cached) and consume (always the server)."""

from __future__ import annotations

from meterplex_client.endpoint import Args, M, Operation, Resource, program
from meterplex_client.errors import APIConnectionError, ServerError
from meterplex_client.ids import uuid7
from meterplex_client.models.entitlements import (
    API_UNREACHABLE,
    UNKNOWN,
    ConsumeRequest,
    ConsumeResult,
    EntitlementCheck,
)
from meterplex_client.transport import Program

CHECK = Operation("GET", "/entitlements/{featureKey}/check", EntitlementCheck)
CONSUME = Operation("POST", "/entitlements/{featureKey}/consume", ConsumeResult, ConsumeRequest)
UNREACHABLE = (APIConnectionError, ServerError)


class Entitlements(Resource[M]):
    @program(CHECK)
    def check(self, feature_key: str, amount: int = 1) -> Program[EntitlementCheck]:
        """May the tenant use `amount` of the feature? Answered from the cache when configured
        and fresh; when the API is unreachable, by the client's `fail_mode` (ADR 0057)."""
        cache = self._core.cache
        hit = cache.get(feature_key, amount) if cache is not None else None
        if hit is not None:
            return hit
        call = CHECK.call(Args.of(feature_key, params={"amount": amount}))
        try:
            answer: EntitlementCheck = yield from self._request(call, EntitlementCheck)
        except UNREACHABLE:
            if self._core.fail_mode == "raise":
                raise
            allowed = self._core.fail_mode == "open"
            return EntitlementCheck(
                allowed=allowed, feature=feature_key, type=UNKNOWN, reason=API_UNREACHABLE, degraded=True
            )
        if cache is not None:
            cache.put(answer)
        return answer

    @program(CONSUME)
    def consume(
        self, feature_key: str, amount: int = 1, *, idempotency_key: str | None = None
    ) -> Program[ConsumeResult]:
        """Count `amount` units (HARD limits: `QuotaExceededError`, nothing counted). Always the
        server; retried safely under an idempotency key (generated when not given)."""
        key = idempotency_key or uuid7()
        body = ConsumeRequest(amount=amount, idempotency_key=key)
        call = CONSUME.call(Args.of(feature_key, json=body, idempotent=True))
        try:
            result: ConsumeResult = yield from self._request(call, ConsumeResult)
        except UNREACHABLE:
            if self._core.fail_mode == "raise":
                raise
            allowed = self._core.fail_mode == "open"
            # Not counted as far as we know: replay with `idempotency_key` to count it exactly once.
            return ConsumeResult(
                allowed=allowed, feature=feature_key, consumed=0, degraded=True, idempotency_key=key
            )
        result.idempotency_key = key
        if self._core.cache is not None:
            self._core.cache.consumed(result)
        return result
