"""Drafting an invoice (SPEC §7, ADR 0042), pure: a subscription, the span to bill, the counters as
read, and what was billed before → the invoice and the new watermarks.

Line items: the base fee (full, or prorated when the span was cut short), then one line per SOFT
QUOTA / METERED entitlement over its windows overlapping the span — zero lines included — then one
"late usage" line per counter billed before that grew since (any subscription of the tenant).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from meterplex.billing.models import Invoice, InvoiceKind, InvoiceSource, InvoiceStatus, LineItem
from meterplex.billing.rating import Pricing, Reading, base_fee_line, pricing_for, usage_line
from meterplex.billing.usage_billed import CounterId, UsageBilledState
from meterplex.entitlements.counters import Counter, window_text
from meterplex.periods import usage_window_for
from meterplex.platform.clock import parse_iso
from meterplex.subscriptions.models import Subscription


@dataclass(frozen=True)
class Span:
    """What an invoice covers: [period_start, until) of the period [period_start, period_end)."""

    period_start: datetime
    period_end: datetime
    until: datetime

    @property
    def kind(self) -> InvoiceKind:
        return InvoiceKind.PRORATED if self.until < self.period_end else InvoiceKind.FULL


@dataclass(frozen=True)
class Meter:
    """A billable entitlement of the subscription: its feature, reset period and pricing."""

    feature: str
    reset_period: str
    pricing: Pricing


def meters_of(sub: Subscription) -> list[Meter]:
    meters = []
    for snap in sorted(sub.entitlements, key=lambda e: e.feature_key):
        pricing = pricing_for(snap.feature_type, snap.terms)
        if pricing is not None:
            reset = snap.terms.reset_period.value if snap.terms.reset_period else "MONTHLY"
            meters.append(Meter(snap.feature_key, reset, pricing))
    return meters


def windows_overlapping(
    sub: Subscription, reset_period: str, start: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime | None]]:
    """The usage windows of an entitlement that overlap [start, until), in order."""
    at = start
    while at < until:
        window_start, window_end = usage_window_for(reset_period, sub.started_at, sub.trial_ends_at, at)
        yield window_start, window_end
        if window_end is None:
            return
        at = window_end


def _counter_of(tenant_id: str, counter: CounterId) -> Counter:
    subscription_id, feature, window_start = counter
    return Counter(tenant_id, feature, subscription_id, window_start)


@dataclass(frozen=True)
class Plan:
    """The counters an invoice reads: the span's windows of each meter, and every counter billed
    before (late usage can only land there)."""

    regular: dict[str, list[tuple[CounterId, str, datetime]]]  # feature → (counter, windowEnd, closes)
    earlier: list[CounterId]

    def counters(self, tenant_id: str) -> list[Counter]:
        ids = [c for rows in self.regular.values() for c, _, _ in rows] + self.earlier
        return [_counter_of(tenant_id, c) for c in dict.fromkeys(ids)]


def _closes_at(window_end: str, ended_at: datetime | None) -> datetime:
    """When a counter stops changing: its window's end, or its subscription's end if sooner."""
    end = parse_iso(window_end)
    return min(end, ended_at) if ended_at else end


def plan_reads(sub: Subscription, span: Span, state: UsageBilledState) -> Plan:
    regular: dict[str, list[tuple[CounterId, str, datetime]]] = {}
    for meter in meters_of(sub):
        rows = []
        for window_start, window_end in windows_overlapping(
            sub, meter.reset_period, span.period_start, span.until
        ):
            start_text, end_text = window_text(window_start, window_end)
            rows.append(((sub.id, meter.feature, start_text), end_text, _closes_at(end_text, sub.ended_at)))
        regular[meter.feature] = rows
    regular_ids = {c for rows in regular.values() for c, _, _ in rows}
    earlier = [c for c in state.counters if c not in regular_ids]
    return Plan(regular, earlier)


def draft_invoice(
    sub: Subscription,
    span: Span,
    plan: Plan,
    counted: dict[Counter, int],
    state: UsageBilledState,
    *,
    invoice_id: str,
    at: datetime,
    source: InvoiceSource,
    late_window: timedelta,
) -> tuple[Invoice, UsageBilledState]:
    """The DRAFT invoice of `span`, and the watermarks after it."""
    lines: list[LineItem] = [
        base_fee_line(
            sub.plan_name,
            sub.interval.value,
            sub.amount,
            period_start=span.period_start,
            period_end=span.period_end,
            until=span.until,
        )
    ]
    billed: list[tuple[Reading, Pricing, datetime]] = []
    meters = {m.feature: m for m in meters_of(sub)}
    for feature, rows in plan.regular.items():
        readings = [
            Reading(
                sub.id,
                feature,
                counter[2],
                window_end,
                counted.get(_counter_of(sub.tenant_id, counter), 0),
                state.previously_counted(counter),
            )
            for counter, window_end, _ in rows
        ]
        pricing = meters[feature].pricing
        lines.append(usage_line(feature, pricing, readings, late=False, sort_order=len(lines)))
        billed += [(r, pricing, closes) for r, (_, _, closes) in zip(readings, rows, strict=True)]
    for counter in sorted(plan.earlier):
        before = state.counters[counter]
        now = counted.get(_counter_of(sub.tenant_id, counter), 0)
        reading = Reading(
            before.subscription_id,
            before.feature,
            before.window_start,
            before.window_end,
            now,
            before.counted,
        )
        pricing = before.priced()
        if now > before.counted:
            lines.append(usage_line(before.feature, pricing, [reading], late=True, sort_order=len(lines)))
        billed.append((reading, pricing, parse_iso(before.closes_at)))
    invoice = Invoice(
        id=invoice_id,
        tenant_id=sub.tenant_id,
        subscription_id=sub.id,
        status=InvoiceStatus.DRAFT,
        kind=span.kind,
        source=source,
        currency=sub.currency,
        period_start=span.period_start,
        period_end=span.until,
        created_at=at,
        line_items=tuple(lines),
    )
    return invoice, state.advanced(billed, at, late_window=late_window)
