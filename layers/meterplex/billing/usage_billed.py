"""What a tenant's invoices have billed of each usage counter so far: the running watermarks
(ADR 0042). Pure; stored as one item per tenant, written in every invoice's transaction,
conditional on its version, so two invoices can never bill the same units."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from meterplex.billing.rating import Pricing, Reading, pricing_from_spec
from meterplex.platform.clock import iso, parse_iso

PRUNE_GRACE = timedelta(days=30)  # beyond the late window: delayed aggregation still lands inside

CounterId = tuple[str, str, str]  # (subscription id, feature, window start)


@dataclass(frozen=True)
class BilledCounter:
    subscription_id: str
    feature: str
    window_start: str
    window_end: str  # as the counter spells it (NEVER_ENDS for a window that never resets)
    closes_at: str  # when it stops changing: its end, or its subscription's end if sooner
    counted: int  # the watermark: units counted when an invoice last billed it
    pricing: dict[str, Any]  # the pricing spec of the subscription that counted it
    read_at: str

    @property
    def id(self) -> CounterId:
        return (self.subscription_id, self.feature, self.window_start)

    def priced(self) -> Pricing:
        return pricing_from_spec(self.pricing)


@dataclass(frozen=True)
class UsageBilledState:
    version: int = 0  # 0: the tenant has no item yet
    counters: dict[CounterId, BilledCounter] = field(default_factory=dict)

    def previously_counted(self, counter: CounterId) -> int:
        billed = self.counters.get(counter)
        return billed.counted if billed else 0

    def advanced(
        self, billed: Iterable[tuple[Reading, Pricing, datetime]], at: datetime, *, late_window: timedelta
    ) -> UsageBilledState:
        """The state after an invoice read `billed` (reading, its pricing, when it closes) at `at`;
        counters read after they could last change are dropped."""
        counters = dict(self.counters)
        for reading, pricing, closes_at in billed:
            key = (reading.subscription_id, reading.feature, reading.window_start)
            counters[key] = BilledCounter(
                subscription_id=reading.subscription_id,
                feature=reading.feature,
                window_start=reading.window_start,
                window_end=reading.window_end,
                closes_at=iso(closes_at),
                counted=max(reading.counted, self.previously_counted(key)),
                pricing=pricing.spec(),
                read_at=iso(at),
            )
        horizon = late_window + PRUNE_GRACE
        kept = {k: c for k, c in counters.items() if parse_iso(c.read_at) - horizon <= parse_iso(c.closes_at)}
        return replace(self, version=self.version + 1, counters=kept)

    def to_json(self) -> str:
        rows = [
            {
                "subscriptionId": c.subscription_id,
                "feature": c.feature,
                "windowStart": c.window_start,
                "windowEnd": c.window_end,
                "closesAt": c.closes_at,
                "counted": c.counted,
                "pricing": c.pricing,
                "readAt": c.read_at,
            }
            for c in sorted(self.counters.values(), key=lambda c: c.id)
        ]
        return json.dumps(rows, separators=(",", ":"))

    @classmethod
    def from_json(cls, version: int, text: str) -> UsageBilledState:
        counters = [
            BilledCounter(
                subscription_id=r["subscriptionId"],
                feature=r["feature"],
                window_start=r["windowStart"],
                window_end=r["windowEnd"],
                closes_at=r["closesAt"],
                counted=int(r["counted"]),
                pricing=r["pricing"],
                read_at=r["readAt"],
            )
            for r in json.loads(text)
        ]
        return cls(version=version, counters={c.id: c for c in counters})
