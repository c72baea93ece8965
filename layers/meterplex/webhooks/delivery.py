"""The delivery worker (SPEC §8.3, ADR 0080): claim a due delivery, sign it, send it, record the
outcome, note the endpoint's health and wake the retry; and the sweep that finds due deliveries.

Storage, keys, the queue, the network and both clocks are ports: the rules stay testable.
Business time (`now`, from the invocation) dates attempts and retries; real time dates the lease,
the signature's timestamp (receivers check it against their own clock) and `Retry-After` dates.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from meterplex.platform.audit import SYSTEM
from meterplex.platform.clock import Clock, iso, system_clock
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import correlated, logger
from meterplex.webhooks import signing
from meterplex.webhooks.attempts import Health, Outcome, after_attempt, failing_too_long, not_sent
from meterplex.webhooks.events import DISABLED, endpoint_audit
from meterplex.webhooks.models import Delivery, DeliveryRef, DeliveryStatus, DisabledReason, Endpoint
from meterplex.webhooks.queue import MAX_DELAY
from meterplex.webhooks.repository import SealedSecrets
from meterplex.webhooks.retries import parse_retry_after
from meterplex.webhooks.sender import Response, Send
from meterplex.webhooks.ssrf import Resolver, UrlNotAllowed, resolve_target

LEASE = timedelta(seconds=90)  # an attempt's claim (real time): ≥ the 15 s attempt + recording
MAX_SWEEP = 5_000  # deliveries one sweep enqueues; the rest are found by the next one


class Store(Protocol):
    """`meterplex.webhooks.repository.WebhookRepository`."""

    def claim(
        self, ref: DeliveryRef, owner: str, *, now: datetime, real_now_ms: int, lease_ms: int
    ) -> Delivery | None: ...
    def record(self, after: Delivery, owner: str) -> bool: ...
    def endpoint_with_secrets(
        self, tenant_id: str, endpoint_id: str
    ) -> tuple[Endpoint, SealedSecrets] | None: ...
    def endpoint_failed(self, tenant_id: str, endpoint_id: str, at: datetime) -> datetime | None: ...
    def endpoint_succeeded(self, tenant_id: str, endpoint_id: str) -> None: ...
    def disable_endpoint(self, before: Endpoint, after: Endpoint, events: list[DomainEvent]) -> bool: ...
    def due(self, as_of: datetime) -> Iterable[DeliveryRef]: ...


class Keys(Protocol):
    def open(self, sealed: str, tenant_id: str, endpoint_id: str) -> str: ...


class Queue(Protocol):
    def enqueue(self, refs: Iterable[DeliveryRef], delay: timedelta = ...) -> int: ...


class Result(StrEnum):
    SKIPPED = "skipped"  # not claimed: not due, done, or another worker holds it
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"
    EXHAUSTED = "exhausted"
    FAILED = "failed"  # 410, or not sent (endpoint disabled / deleted)
    LOST = "lost"  # the lease expired before the outcome was recorded (the attempt may repeat)


@dataclass(frozen=True)
class Policy:
    local: bool  # the local/test stages: http to localhost, no address refused (ADR 0080)
    timeout_s: float = 15.0
    concurrency: int = 10


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        keys: Keys,
        queue: Queue,
        policy: Policy,
        *,
        send: Send,
        resolve: Resolver,
        real_clock: Clock = system_clock,
        on_result: Callable[[Result], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.queue = queue
        self.policy = policy
        self.send = send
        self.resolve = resolve
        self.real = real_clock
        self.on_result = on_result

    # -- many at once ------------------------------------------------------------------------
    def attempt_all(
        self, refs: list[DeliveryRef], now: datetime, correlation_ids: Sequence[str | None] = ()
    ) -> list[Result | Exception]:
        """Attempt each delivery (concurrently: each may wait 15 s on its receiver), each under the
        correlation id of its message (`correlation_ids[i]`, when given); per delivery its result,
        or what it raised (a transient failure: the message is redelivered)."""
        ids = list(correlation_ids) + [None] * (len(refs) - len(correlation_ids))

        def one(ref: DeliveryRef, correlation_id: str | None) -> Result | Exception:
            with correlated(correlation_id):
                try:
                    return self.attempt(ref, now)
                except Exception as error:
                    logger.exception("webhook attempt failed", delivery_id=ref.delivery_id)
                    return error

        if len(refs) <= 1:
            return [one(ref, cid) for ref, cid in zip(refs, ids, strict=False)]
        with ThreadPoolExecutor(max_workers=min(self.policy.concurrency, len(refs))) as pool:
            # each in a copy of this context: the invocation's, plus its own correlation id
            futures = [
                pool.submit(contextvars.copy_context().run, one, ref, cid)
                for ref, cid in zip(refs, ids, strict=False)
            ]
            return [future.result() for future in futures]

    def sweep(self, as_of: datetime) -> dict[str, object]:
        """Enqueue every delivery due by `as_of` (the retries SQS delays cannot reach, and any whose
        message was lost); the run's report, which the test clock's completion check reads."""
        refs: list[DeliveryRef] = []
        for ref in self.store.due(as_of):
            refs.append(ref)
            if len(refs) >= MAX_SWEEP:
                break
        enqueued = self.queue.enqueue(refs) if refs else 0
        logger.info("webhook sweep", as_of=iso(as_of), due=len(refs), enqueued=enqueued)
        return {"asOf": iso(as_of), "due": len(refs), "enqueued": enqueued}

    # -- one ---------------------------------------------------------------------------------
    def attempt(self, ref: DeliveryRef, now: datetime) -> Result:
        owner = uuid.uuid4().hex
        real_now = self.real.now()
        lease_ms = int(LEASE.total_seconds() * 1000)
        delivery = self.store.claim(ref, owner, now=now, real_now_ms=_ms(real_now), lease_ms=lease_ms)
        if delivery is None:
            return self._done(Result.SKIPPED)
        found = self.store.endpoint_with_secrets(ref.tenant_id, ref.endpoint_id)
        if found is None or not found[0].enabled:
            reason = "endpoint deleted" if found is None else "endpoint disabled"
            recorded = self.store.record(not_sent(delivery, reason, now), owner)
            return self._done(Result.FAILED if recorded else Result.LOST)
        endpoint, sealed = found
        response = self._send(endpoint, sealed, delivery, now)
        outcome = Outcome(
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            excerpt=response.excerpt,
            error=response.error,
            retry_after=parse_retry_after(response.retry_after, self.real.now()),
        )
        after, health = after_attempt(delivery, outcome, now)
        if not self.store.record(after, owner):
            logger.warning("webhook attempt outlived its lease", delivery_id=ref.delivery_id)
            return self._done(Result.LOST)
        self._note_health(endpoint, health, now)
        logger.info(
            "webhook attempt",
            delivery_id=ref.delivery_id,
            endpoint_id=ref.endpoint_id,
            attempt=after.attempt_count,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            next_attempt_at=iso(after.next_attempt_at) if after.next_attempt_at else None,
        )
        if after.status is DeliveryStatus.PENDING and after.next_attempt_at is not None:
            self._wake(ref, after.next_attempt_at - now)
            return self._done(Result.RETRYING)
        return self._done(
            {
                DeliveryStatus.SUCCEEDED: Result.SUCCEEDED,
                DeliveryStatus.EXHAUSTED: Result.EXHAUSTED,
            }.get(after.status, Result.FAILED)
        )

    def _send(self, endpoint: Endpoint, sealed: SealedSecrets, delivery: Delivery, now: datetime) -> Response:
        try:
            target = resolve_target(endpoint.url, local=self.policy.local, resolve=self.resolve)
        except UrlNotAllowed as refused:
            return Response(None, 0, error=refused.message[:300])
        keys = [
            signing.key_of(self.keys.open(ciphertext, endpoint.tenant_id, endpoint.id))
            for ciphertext in sealed.valid(now)
        ]
        timestamp = int(self.real.now().timestamp())
        headers = signing.webhook_headers(keys, delivery.event_id, timestamp, delivery.payload)
        return self.send(target, headers, delivery.payload.encode(), self.policy.timeout_s)

    def _note_health(self, endpoint: Endpoint, health: Health, now: datetime) -> None:
        if health is Health.SUCCEEDED:
            if endpoint.failing_since is not None:
                self.store.endpoint_succeeded(endpoint.tenant_id, endpoint.id)
            return
        if health is Health.GONE:
            self._disable(endpoint, DisabledReason.GONE, now)
            return
        since = endpoint.failing_since or self.store.endpoint_failed(endpoint.tenant_id, endpoint.id, now)
        if failing_too_long(since, now):
            self._disable(replace(endpoint, failing_since=since), DisabledReason.FAILING, now)

    def _disable(self, endpoint: Endpoint, reason: DisabledReason, now: datetime) -> None:
        after = replace(endpoint, enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        if self.store.disable_endpoint(endpoint, after, [endpoint_audit(DISABLED, SYSTEM, endpoint, after)]):
            logger.warning("webhook endpoint disabled", endpoint_id=endpoint.id, reason=reason.value)

    def _wake(self, ref: DeliveryRef, delay: timedelta) -> None:
        """An SQS message for the retry when SQS can delay that long; else the sweep finds it."""
        if delay > MAX_DELAY:
            return
        try:
            self.queue.enqueue([ref], delay)
        except Exception:  # the due index still holds it: the sweep wakes it
            logger.exception("enqueueing a webhook retry failed", delivery_id=ref.delivery_id)

    def _done(self, result: Result) -> Result:
        self.on_result(result)
        return result


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
