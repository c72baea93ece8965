"""Billing periods and usage windows: pure functions of an anchor and a moment (no I/O).

A neutral module: subscriptions (periods, trials), entitlements (usage windows of the hot path),
usage (the window an event counts in) and billing (what an invoice covers) all read time through
it, and none of them owns it.

Periods run anchor to anchor. Every boundary is computed from the anchor itself, never from the
previous boundary, so a clamped month does not drift: Jan 31 → Feb 28 (29) → Mar 31 (SPEC §4).
"""

from __future__ import annotations

import calendar
from datetime import datetime

MONTHS_IN = {"MONTHLY": 1, "ANNUALLY": 12}


def add_months(anchor: datetime, months: int) -> datetime:
    """`anchor` moved by whole months, its day clamped to the target month's last day."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def period_containing(anchor: datetime, step_months: int, at: datetime) -> tuple[datetime, datetime]:
    """The anchor-to-anchor period [start, end) of `step_months` that contains `at`.

    Moments before the anchor fall in the first period.
    """
    elapsed = (at.year - anchor.year) * 12 + (at.month - anchor.month)
    n = max(0, elapsed // step_months)
    while n > 0 and add_months(anchor, n * step_months) > at:
        n -= 1
    while add_months(anchor, (n + 1) * step_months) <= at:
        n += 1
    return add_months(anchor, n * step_months), add_months(anchor, (n + 1) * step_months)


def billing_period_at(
    interval: str, started_at: datetime, trial_ends_at: datetime | None, at: datetime
) -> tuple[datetime, datetime]:
    """The billing period containing `at`: the trial itself, then periods anchored at its end."""
    if trial_ends_at is not None and at < trial_ends_at:
        return started_at, trial_ends_at
    anchor = trial_ends_at or started_at
    return period_containing(anchor, MONTHS_IN[interval], at)


def usage_window_for(
    reset_period: str, started_at: datetime, trial_ends_at: datetime | None, at: datetime
) -> tuple[datetime, datetime | None]:
    """The usage window of a QUOTA/METERED entitlement containing `at` (end None = never resets).

    MONTHLY/ANNUALLY windows follow the subscription's billing anchor (the trial is a window of
    its own); NEVER is the subscription's whole lifetime (SPEC §5).
    """
    if reset_period == "NEVER":
        return started_at, None
    if trial_ends_at is not None and at < trial_ends_at:
        return started_at, trial_ends_at
    return period_containing(trial_ends_at or started_at, MONTHS_IN[reset_period], at)
