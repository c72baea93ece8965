"""The rating rules (SPEC §0, §7; ADR 0042), in ONE pure module: integer money, no I/O, no storage.

* Money is integer cents; unit prices of usage are hundredths of a cent; a line's amount is rounded
  half up **once**, from its exact cost in hundredths of a cent.
* A `Pricing` says what a window's counted units cost. Today's prices are included units plus a
  per-unit overage (`OveragePricing`, SOFT QUOTA and METERED); tiered, volume or package prices are
  further `Pricing` classes, with no change to how invoices store what they billed.
* A usage line bills, per counter, `cost(counted now) − cost(counted when last billed)`: the same
  rule bills a window once in full, a window that grows across invoices as it grows, and late usage
  exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from meterplex.billing.models import LineItem, LineKind, UsageBilled
from meterplex.catalog.models import FeatureType, LimitBehavior, Terms

HUNDREDTHS_PER_CENT = 100
DAY = timedelta(days=1)


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up (away from zero at .5), exactly, for integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def usage_amount(units: int, unit_price: int) -> int:
    """SPEC §0: `round_half_up(units × overagePrice / 100)` cents."""
    return round_half_up(units * unit_price, HUNDREDTHS_PER_CENT)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def prorate(
    amount: int,
    period_start: datetime,
    period_end: datetime,
    until: datetime,
    *,
    since: datetime | None = None,
) -> int:
    """`amount` × (until − since) / (end − start), rounded half up (`since` defaults to the period's
    start); the span is clamped to the period, so the result is never outside [0, amount]."""
    total = _micros(period_end - period_start)
    if total <= 0:
        return 0

    def offset(moment: datetime) -> int:
        return min(max(_micros(moment - period_start), 0), total)

    used = max(0, offset(until) - offset(since or period_start))
    return round_half_up(amount * used, total)


def days_used(period_start: datetime, period_end: datetime, until: datetime) -> tuple[int, int]:
    """(days used, days in the period), each rounded half up, for the line's description."""
    day = _micros(DAY)
    return (
        round_half_up(_micros(min(until, period_end) - period_start), day),
        round_half_up(_micros(period_end - period_start), day),
    )


# -- pricing -----------------------------------------------------------------------------------
class Pricing(Protocol):
    @property
    def unit_price(self) -> int: ...  # hundredths of a cent per billable unit (the line shows it)

    def billable_units(self, counted: int) -> int: ...

    def cost(self, counted: int) -> int: ...  # hundredths of a cent for `counted` units of a window

    def spec(self) -> dict[str, Any]: ...  # how it is remembered (usage billed item)


@dataclass(frozen=True)
class OveragePricing:
    """`included` units per window free, then `unit_price` per unit."""

    included: int
    unit_price: int

    def billable_units(self, counted: int) -> int:
        return max(0, counted - self.included)

    def cost(self, counted: int) -> int:
        return self.billable_units(counted) * self.unit_price

    def spec(self) -> dict[str, Any]:
        return {"model": "overage", "included": self.included, "unitPrice": self.unit_price}


def pricing_from_spec(spec: Mapping[str, Any]) -> Pricing:
    if spec.get("model") == "overage":
        return OveragePricing(int(spec["included"]), int(spec["unitPrice"]))
    raise ValueError(f"unknown pricing model {spec.get('model')!r}")


def pricing_for(feature_type: FeatureType, terms: Terms) -> Pricing | None:
    """How an entitlement's usage is billed; None when it is not (HARD quota, BOOLEAN): SPEC §7."""
    if feature_type is FeatureType.METERED:
        return OveragePricing(terms.included_amount or 0, terms.overage_price or 0)
    if feature_type is FeatureType.QUOTA and terms.limit_behavior is LimitBehavior.SOFT:
        return OveragePricing(terms.limit or 0, terms.overage_price or 0)
    return None


# -- lines -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One counter as an invoice reads it: units counted now, and at the last invoice that billed it."""

    subscription_id: str
    feature: str
    window_start: str
    window_end: str
    counted: int
    previously_counted: int = 0

    def billed(self, pricing: Pricing) -> UsageBilled:
        now, before = self.counted, min(self.previously_counted, self.counted)
        return UsageBilled(
            subscription_id=self.subscription_id,
            feature=self.feature,
            window_start=self.window_start,
            window_end=self.window_end,
            counted=now,
            previously_counted=before,
            units=pricing.billable_units(now) - pricing.billable_units(before),
        )


def usage_line(
    feature: str, pricing: Pricing, readings: Iterable[Reading], *, late: bool, sort_order: int
) -> LineItem:
    """One line for `readings` of one feature: Σ cost differences, rounded once (SPEC §0)."""
    readings = list(readings)
    billed = tuple(r.billed(pricing) for r in readings)
    cost = sum(pricing.cost(b.counted) - pricing.cost(b.previously_counted) for b in billed)
    units = sum(b.units for b in billed)
    return LineItem(
        kind=LineKind.LATE_USAGE if late else LineKind.USAGE,
        description=_usage_description(feature, pricing, billed, late=late),
        feature_lookup_key=feature,
        quantity=units,
        unit_price_micro_cents=pricing.unit_price,
        amount=round_half_up(cost, HUNDREDTHS_PER_CENT),
        sort_order=sort_order,
        usage=billed,
    )


def _usage_description(feature: str, pricing: Pricing, billed: tuple[UsageBilled, ...], *, late: bool) -> str:
    used = sum(b.counted - b.previously_counted for b in billed)
    units = sum(b.units for b in billed)
    if late:
        windows = ", ".join(f"{b.window_start[:10]} – {b.window_end[:10]}" for b in billed)
        return f"{feature} — late usage for {windows}: {used:,} more units counted, {units:,} billable"
    included = getattr(pricing, "included", None)
    allowance = f", {included:,} included per window" if included is not None else ""
    windows = f" over {len(billed)} usage windows" if len(billed) > 1 else ""
    return f"{feature} — {used:,} used{allowance}{windows}: {units:,} overage"


def base_fee_line(
    plan_name: str,
    interval: str,
    amount: int,
    *,
    period_start: datetime,
    period_end: datetime,
    until: datetime | None = None,
) -> LineItem:
    """The base fee: quantity 1 at the full price; prorated when the period ended early (`until`)."""
    description = f"{plan_name} — {interval.lower()} base fee"
    billed = amount
    if until is not None and until < period_end:
        billed = prorate(amount, period_start, period_end, until)
        used, total = days_used(period_start, period_end, until)
        description += f" (prorated: {used}/{total} days)"
    return LineItem(
        kind=LineKind.BASE_FEE,
        description=description,
        feature_lookup_key=None,
        quantity=1,
        unit_price_micro_cents=amount * HUNDREDTHS_PER_CENT,
        amount=billed,
        sort_order=0,
    )
