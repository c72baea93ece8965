"""The billing run (SPEC §7, ADR 0043): find every subscription with a billing step due by the
run's time, on the due index (no Scan), and hand each to `invoice_worker` through
`meterplex.invoicing.v1` (key = tenant). Also the test clock's completion check for the schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from meterplex.billing.events import InvoiceDue
from meterplex.platform.clock import business_clock, iso, parse_iso
from meterplex.platform.observability import logger
from meterplex.subscriptions.repository import DueSubscription, DynamoSubscriptionRepository


def run_time(event: Mapping[str, Any]) -> datetime:
    """The run's time: the schedule's fire time (EventBridge Scheduler puts it in `time`; the test
    clock's advance passes its fire time), so a retried or late run bills what its time had due."""
    fired = event.get("time")
    return parse_iso(fired) if isinstance(fired, str) and fired else business_clock.now()


def fan_out(
    as_of: datetime, due: Iterable[DueSubscription], publish: Callable[[list[InvoiceDue]], int]
) -> dict[str, Any]:
    """One `invoice.due` per due subscription (each once, even if the index lists it twice)."""
    messages = list(
        {
            (d.tenant_id, d.subscription_id): InvoiceDue(d.tenant_id, d.subscription_id, d.due_at, as_of)
            for d in due
        }.values()
    )
    published = publish(messages) if messages else 0
    logger.info("billing run fanned out", as_of=iso(as_of), due=len(messages), published=published)
    return {"asOf": iso(as_of), "due": len(messages), "published": published}


def run_completed(result: Mapping[str, Any]) -> bool:
    """The test clock's completion check: no subscription due at or before the run's time remains
    (every step it had due was settled by the invoice workers)."""
    as_of = parse_iso(str(result["asOf"]))
    return next(iter(DynamoSubscriptionRepository().due(as_of)), None) is None
