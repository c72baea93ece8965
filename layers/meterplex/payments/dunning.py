"""Dunning rules (SPEC §8.2, ADR 0060), pure: when the next retry is due, what a failure or a
success does to an invoice's collection, and which standing level a collection puts its tenant in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from meterplex.entitlements.keys import PAST_DUE, UNPAID
from meterplex.payments.models import Action, Collection, CollectionState

JANITOR_AFTER = timedelta(hours=12)  # an attempt PENDING this long is asked about, then failed


def retry_due(first_failed_at: datetime, retry_days: tuple[int, ...], failures: int) -> datetime | None:
    """When the retry after the `failures`-th failure is due: 00:00 UTC of the day `retry_days[k-1]`
    days after the first failure's day; None when the schedule is exhausted."""
    if failures < 1 or failures > len(retry_days):
        return None
    day = first_failed_at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=retry_days[failures - 1])


def started(collection: Collection, payment_id: str, attempt_number: int, at: datetime) -> Collection:
    """An attempt started: it is the current one; the janitor looks at it 12 h later."""
    return replace(
        collection,
        attempts=attempt_number,
        payment_id=payment_id,
        action=Action.CHECK_PENDING,
        action_at=at + JANITOR_AFTER,
    )


def failed(
    collection: Collection, attempt_number: int, at: datetime, retry_days: tuple[int, ...]
) -> tuple[Collection, datetime | None]:
    """The collection after attempt `attempt_number` failed, and the next retry (None: exhausted →
    UNPAID)."""
    first = collection.first_failed_at or at
    due = retry_due(first, retry_days, attempt_number)
    state = CollectionState.PAST_DUE if due is not None else CollectionState.UNPAID
    after = replace(
        collection,
        state=state,
        first_failed_at=first,
        action=Action.RETRY if due is not None else None,
        action_at=due,
    )
    return after, due


def waiting(collection: Collection) -> Collection:
    """The attempt needs the customer (requires action) or waits for a webhook: no janitor."""
    return replace(collection, action=None, action_at=None)


def settled(collection: Collection) -> Collection:
    return replace(collection, state=CollectionState.SETTLED, action=None, action_at=None)


def closed(collection: Collection) -> Collection:
    return replace(collection, state=CollectionState.CLOSED, action=None, action_at=None)


def overdue(collection: Collection) -> Collection:
    """Manual collection: the due date passed, the invoice is still open."""
    return replace(collection, state=CollectionState.PAST_DUE, action=None, action_at=None)


def standing_level(collection: Collection) -> str | None:
    """What this invoice puts its tenant's standing at (None: nothing)."""
    return {CollectionState.PAST_DUE: PAST_DUE, CollectionState.UNPAID: UNPAID}.get(collection.state)
