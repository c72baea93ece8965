"""The rating rules: SPEC §7's worked examples, rounding, proration (examples and properties)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterplex.billing.models import LineKind
from meterplex.billing.rating import (
    OveragePricing,
    Reading,
    base_fee_line,
    pricing_for,
    prorate,
    round_half_up,
    usage_amount,
    usage_line,
)
from meterplex.catalog.models import FeatureType, LimitBehavior, Terms

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


def line(used: int, included: int, price: int) -> int:
    reading = Reading("sub", "api_calls", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", used)
    return usage_line(
        "api_calls", OveragePricing(included, price), [reading], late=False, sort_order=1
    ).amount


@pytest.mark.parametrize(
    ("used", "included", "price", "cents"),
    [
        (55_000, 50_000, 10, 500),  # SPEC §7: 5,000 over at $0.001 → $5.00
        (15, 10, 200, 10),  # 5 over at $0.02 → $0.10
        (35_000, 50_000, 10, 0),  # under the allowance: a zero line
    ],
)
def test_spec_worked_examples(used: int, included: int, price: int, cents: int) -> None:
    assert line(used, included, price) == cents


def test_twenty_nine_dollars_for_seven_of_thirty_one_days_is_655_cents() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=31)
    fee = base_fee_line(
        "Starter", "MONTHLY", 2900, period_start=start, period_end=end, until=start + timedelta(days=7)
    )
    assert fee.amount == 655  # 2900 × 7/31 = 654.84
    assert fee.description == "Starter — monthly base fee (prorated: 7/31 days)"
    assert (fee.quantity, fee.unit_price_micro_cents, fee.kind) == (1, 290_000, LineKind.BASE_FEE)


def test_rounding_is_half_up_once_per_line() -> None:
    assert round_half_up(5, 10) == 1 and round_half_up(4, 10) == 0 and round_half_up(15, 10) == 2
    assert round_half_up(-15, 10) == -2
    assert usage_amount(5, 10) == 1  # 0.5 cent → 1
    # three windows of 5 units at 10: 0.5 + 0.5 + 0.5 = 1.5 cents → 2, not 1 + 1 + 1
    readings = [Reading("s", "f", f"w{i}", "e", 15) for i in range(3)]
    assert usage_line("f", OveragePricing(10, 10), readings, late=False, sort_order=1).amount == 2


def test_hard_quotas_and_booleans_are_not_billed() -> None:
    assert pricing_for(FeatureType.BOOLEAN, Terms(value=True)) is None
    assert pricing_for(FeatureType.QUOTA, Terms(limit=10, limit_behavior=LimitBehavior.HARD)) is None
    assert pricing_for(FeatureType.QUOTA, Terms(limit=10)) is None  # HARD by default
    soft = Terms(limit=10, limit_behavior=LimitBehavior.SOFT, overage_price=7)
    assert pricing_for(FeatureType.QUOTA, soft) == OveragePricing(10, 7)
    assert pricing_for(FeatureType.METERED, Terms(overage_price=3)) == OveragePricing(0, 3)


def test_a_reading_bills_only_what_grew_since_the_last_invoice() -> None:
    pricing = OveragePricing(50_000, 10)
    first = Reading("s", "f", "w", "e", 52_000).billed(pricing)
    later = Reading("s", "f", "w", "e", 53_500, previously_counted=52_000).billed(pricing)
    assert (first.units, later.units) == (2_000, 1_500)
    within = Reading("s", "f", "w", "e", 40_000, previously_counted=30_000).billed(pricing)
    assert within.units == 0


moments = st.integers(min_value=0, max_value=31 * 86_400 * 1_000_000)


@given(amount=st.integers(0, 10_000_000), offset=moments)
def test_proration_never_exceeds_the_base_fee(amount: int, offset: int) -> None:
    until = JAN + timedelta(microseconds=offset)
    assert 0 <= prorate(amount, JAN, FEB, until) <= amount


@given(amount=st.integers(0, 10_000_000), cuts=st.lists(moments, max_size=12, unique=True))
def test_a_period_split_at_any_instants_sums_to_the_base_within_a_cent_per_split(
    amount: int, cuts: list[int]
) -> None:
    inner = sorted(JAN + timedelta(microseconds=c) for c in cuts if 0 < c < 31 * 86_400 * 1_000_000)
    points = [JAN, *inner, FEB]
    pieces = [prorate(amount, JAN, FEB, b, since=a) for a, b in itertools.pairwise(points)]
    assert abs(sum(pieces) - amount) <= len(inner)  # each split may cost at most one cent
