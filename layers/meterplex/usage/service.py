"""Usage ingestion (SPEC §6): assess a batch against the tenant's subscriptions, store the new
events once, answer each event's status in request order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from meterplex.platform.clock import Clock, business_clock
from meterplex.platform.errors import Forbidden
from meterplex.platform.observability import logger
from meterplex.usage.models import IncomingEvent, UsageRecord
from meterplex.usage.rules import Caller, IngestWindow, Outcome, Status, SubscriptionSpan, assess, may_ingest


class Spans(Protocol):
    def of_tenant(self, tenant_id: str) -> list[SubscriptionSpan]: ...


class EventStore(Protocol):
    def store_new(self, records: Sequence[UsageRecord]) -> set[str]: ...


class Tally(Protocol):
    def add(self, day: date, accepted: int) -> None: ...


@dataclass(frozen=True)
class IngestResult:
    outcomes: list[Outcome]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status is status)


class UsageIngestService:
    def __init__(
        self,
        spans: Spans,
        store: EventStore,
        *,
        late_window: timedelta,
        future_skew: timedelta,
        clock: Clock = business_clock,
        tally: Tally | None = None,
    ) -> None:
        self.tally = tally
        self.spans = spans
        self.store = store
        self.late_window = late_window
        self.future_skew = future_skew
        self.clock = clock

    def ingest(self, caller: Caller, events: Sequence[IncomingEvent]) -> IngestResult:
        window = IngestWindow(self.clock.now(), self.late_window, self.future_skew)
        spans = self.spans.of_tenant(caller.tenant_id)
        if not may_ingest(spans, window):
            raise Forbidden(
                "The tenant has no subscription active now or within the late-event window",
                code="NO_ACTIVE_SUBSCRIPTION",
            )
        outcomes = assess(caller, events, spans, window)
        candidates = [o.record for o in outcomes if o.record is not None]
        duplicates = self.store.store_new(candidates) if candidates else set()
        final = [
            Outcome(o.event_id, Status.DUPLICATE) if o.record is not None and o.event_id in duplicates else o
            for o in outcomes
        ]
        result = IngestResult(final)
        if self.tally is not None:
            self.tally.add(window.now.date(), result.count(Status.ACCEPTED))
        logger.info(
            "usage events ingested",
            tenant_id=caller.tenant_id,
            accepted=result.count(Status.ACCEPTED),
            duplicates=result.count(Status.DUPLICATE),
            rejected=result.count(Status.REJECTED),
        )
        return result
