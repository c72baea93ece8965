"""The ingestion rules of SPEC §6 as pure functions: which subscription an event counts against,
its usage window, and why an event is rejected. No I/O; the service feeds them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from meterplex.entitlements.counters import window_text
from meterplex.periods import usage_window_for
from meterplex.platform.clock import iso
from meterplex.subscriptions.models import Subscription
from meterplex.usage.models import IncomingEvent, UsageRecord


class Status(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Why an event was rejected (stable codes; the response's `reason`)."""

    TIMESTAMP_IN_FUTURE = "TIMESTAMP_IN_FUTURE"
    TIMESTAMP_TOO_OLD = "TIMESTAMP_TOO_OLD"
    NO_SUBSCRIPTION_AT_TIMESTAMP = "NO_SUBSCRIPTION_AT_TIMESTAMP"
    FEATURE_NOT_IN_PLAN = "FEATURE_NOT_IN_PLAN"
    BOOLEAN_FEATURE = "BOOLEAN_FEATURE"


@dataclass(frozen=True)
class FeatureTerms:
    feature_type: str
    reset_period: str  # MONTHLY | ANNUALLY | NEVER (the grant's default: MONTHLY)


@dataclass(frozen=True)
class SubscriptionSpan:
    """A subscription as usage sees it: when it granted, and its frozen features."""

    id: str
    started_at: datetime
    trial_ends_at: datetime | None
    ended_at: datetime | None  # None: still live with no scheduled end
    features: dict[str, FeatureTerms] = field(default_factory=dict)

    def active_at(self, at: datetime) -> bool:
        return self.started_at <= at and (self.ended_at is None or at < self.ended_at)

    def window_of(self, feature: str, at: datetime) -> tuple[str, str]:
        """(windowStart, windowEnd) of the feature's usage window containing `at`, as the grant
        and archive items spell them (the usage-counter port, entitlements.counters)."""
        start, end = usage_window_for(
            self.features[feature].reset_period, self.started_at, self.trial_ends_at, at
        )
        return window_text(start, end)


def span_of(sub: Subscription) -> SubscriptionSpan:
    features = {
        e.feature_key: FeatureTerms(
            e.feature_type.value, e.terms.reset_period.value if e.terms.reset_period else "MONTHLY"
        )
        for e in sub.entitlements
    }
    # ended_at: when a cancelled subscription stopped granting, or the scheduled end of one
    # cancelled at period end; None while it runs on.
    return SubscriptionSpan(sub.id, sub.started_at, sub.trial_ends_at, sub.ended_at, features)


@dataclass(frozen=True)
class IngestWindow:
    now: datetime
    late: timedelta
    future: timedelta

    @property
    def earliest(self) -> datetime:
        return self.now - self.late

    @property
    def latest(self) -> datetime:
        return self.now + self.future


def may_ingest(spans: Iterable[SubscriptionSpan], window: IngestWindow) -> bool:
    """A subscription is active now or ended within the late window (else the batch is 403)."""
    return any(
        s.started_at <= window.latest and (s.ended_at is None or s.ended_at > window.earliest) for s in spans
    )


def subscription_at(spans: Sequence[SubscriptionSpan], at: datetime) -> SubscriptionSpan | None:
    """The subscription active at `at` (at most one: a plan change ends one as the next starts)."""
    return next((s for s in spans if s.active_at(at)), None)


@dataclass(frozen=True)
class Outcome:
    event_id: str
    status: Status
    reason: Reason | None = None
    record: UsageRecord | None = None  # set for an accepted candidate


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    actor: str = "system"
    correlation_id: str | None = None
    request_id: str = ""  # this ingest request (its events' counting receipts, ADR 0070)


def assess(
    caller: Caller, events: Sequence[IncomingEvent], spans: Sequence[SubscriptionSpan], window: IngestWindow
) -> list[Outcome]:
    """Each event's fate before storage, in request order: a candidate (`accepted`, still to be
    checked against stored ids), a `duplicate` of an earlier candidate of this request, or
    `rejected` with its reason. A rejected event does not shadow a later one with its id."""
    received_at = iso(window.now)
    seen: set[str] = set()
    outcomes: list[Outcome] = []
    for index, event in enumerate(events):
        if event.event_id in seen:
            outcomes.append(Outcome(event.event_id, Status.DUPLICATE))
            continue
        reason, record = _judge(caller, event, index, spans, window, received_at)
        if reason is not None:
            outcomes.append(Outcome(event.event_id, Status.REJECTED, reason))
            continue
        seen.add(event.event_id)
        outcomes.append(Outcome(event.event_id, Status.ACCEPTED, record=record))
    return outcomes


def _judge(
    caller: Caller,
    event: IncomingEvent,
    index: int,
    spans: Sequence[SubscriptionSpan],
    window: IngestWindow,
    received_at: str,
) -> tuple[Reason | None, UsageRecord | None]:
    at = event.timestamp
    if at > window.latest:
        return Reason.TIMESTAMP_IN_FUTURE, None
    if at < window.earliest:
        return Reason.TIMESTAMP_TOO_OLD, None
    span = subscription_at(spans, at)
    if span is None:
        return Reason.NO_SUBSCRIPTION_AT_TIMESTAMP, None
    terms = span.features.get(event.feature)
    if terms is None:
        return Reason.FEATURE_NOT_IN_PLAN, None
    if terms.feature_type == "BOOLEAN":
        return Reason.BOOLEAN_FEATURE, None
    window_start, window_end = span.window_of(event.feature, at)
    return None, UsageRecord(
        tenant_id=caller.tenant_id,
        event_id=event.event_id,
        feature=event.feature,
        amount=event.amount,
        timestamp=iso(at),
        subscription_id=span.id,
        window_start=window_start,
        window_end=window_end,
        received_at=received_at,
        metadata=None if event.metadata is None else json.dumps(event.metadata, separators=(",", ":")),
        actor=caller.actor,
        correlation_id=caller.correlation_id,
        request_id=caller.request_id,
        request_index=index,
    )
