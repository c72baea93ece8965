"""`mp.usage`: track events (buffered, journaled, never dropped) or send a batch directly."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from meterplex_client.endpoint import Args, M, Operation, Resource, operation, program
from meterplex_client.models.usage import UsageBatch, UsageBatchResult, UsageEvent
from meterplex_client.transport import Call, Offload, Program, RetryPolicy
from meterplex_client.usage.events import usage_event
from meterplex_client.usage.journal import Event
from meterplex_client.usage.tracker import UsageStats

F = TypeVar("F", bound=Callable[..., Any])

SEND = Operation("POST", "/usage/events", UsageBatchResult, UsageBatch)


def send_call(events: Sequence[Event], *, retry: RetryPolicy | None = None) -> Call:
    """The batch request: idempotent, because every event carries its id."""
    return replace(SEND.call(Args(json={"events": list(events)}, idempotent=True)), retry=retry)


class Usage(Resource[M]):
    @program(SEND)
    def send(self, events: Sequence[UsageEvent | Mapping[str, Any]]) -> Program[UsageBatchResult]:
        """Send one batch (1–1,000 events) now, with retries; each event's status, in order."""
        body = [
            (e if isinstance(e, UsageEvent) else UsageEvent.model_validate(e)).model_dump(
                by_alias=True, exclude_none=True, mode="json"
            )
            for e in events
        ]
        result: UsageBatchResult = yield from self._request(send_call(body), UsageBatchResult)
        return result

    def track(
        self,
        feature: str,
        amount: int = 1,
        *,
        event_id: str | None = None,
        timestamp: datetime | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Record usage; returns its event id at once. Sent in batches in the background (or at
        `flush`/`batch` exit in Lambda); a re-send is a duplicate, never a second count."""
        event = usage_event(feature, amount, event_id=event_id, timestamp=timestamp, metadata=metadata)
        self._core.tracker().track(event, block=self._core.blocking_track)
        return str(event["eventId"])

    @operation
    def flush(self) -> Program[None]:
        """Send everything tracked so far; returns when each event is answered or spilled."""
        yield Offload(self._core.tracker().flush)

    @operation
    def resend_spilled(self) -> Program[int]:
        """Re-send events left on disk by earlier runs or failures; returns how many were queued."""
        queued: int = yield Offload(self._core.tracker().resend_spilled)
        return queued

    @property
    def stats(self) -> UsageStats:
        return self._core.tracker().stats

    def batch(self) -> UsageScope:
        """`with mp.usage.batch(): …` (or `async with`): flushes before the block is left — the
        Lambda-safe way, since a background thread does not run while a function is frozen."""
        return UsageScope(self._core.tracker().flush)

    def flush_after(self, handler: F) -> F:
        """Decorator: flush before the (sync or async) handler returns."""
        flush = self._core.tracker().flush
        if inspect.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with UsageScope(flush):
                    return await handler(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with UsageScope(flush):
                return handler(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class UsageScope:
    """Flushes the tracker when the block ends, whether it ends normally or with an error."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush

    def __enter__(self) -> UsageScope:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._flush()

    async def __aenter__(self) -> UsageScope:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import asyncio

        await asyncio.to_thread(self._flush)
