"""The payments run (ADR 0060): EventBridge Scheduler fires `payments_scheduler` at 00:30 and 12:30
UTC (and the test clock's advance at its fire times); it runs every collection action due by the
run's time. Also the test clock's completion check for the schedule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meterplex.payments.models import EventStatus


def run_completed(result: Mapping[str, Any]) -> bool:
    """True once every outcome event the run stored has been processed by `payment_events`."""
    from meterplex.payments.repository import PaymentsRepository

    keys = [(str(p), str(e)) for p, e in result.get("events") or []]
    if not keys:
        return True
    statuses = PaymentsRepository().event_statuses(keys)
    return all(statuses.get(k) not in (None, EventStatus.RECEIVED.value) for k in keys)
