"""The usage aggregator's metrics (ADR 0100): events newly counted, re-deliveries, and per counted
event the ingest → counted latency (SLO: p99 ≤ 2 s, alarmed on `UsageIngestToCountedMs`).

The accepted instant is the event's ingest request id: a UUIDv7 that usage_api mints from the
system clock when the request arrives, stored on the usage item and carried in the envelope
(`data.requestId`, ADR 0070). It is real time whatever the test clock says — `receivedAt` is
business time, moved by the test clock — and it costs no extra byte per event.
"""

from __future__ import annotations

from meterplex.platform import business_metrics
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.ids import minted_at_ms
from meterplex.usage.counters import Applied
from meterplex.usage.models import UsageRecord


def ingest_to_counted_ms(usage: UsageRecord, counted_at_ms: float) -> float | None:
    """Real milliseconds from acceptance to `counted_at_ms`; None for an event without an ingest
    request id (counted by its own receipt) or a negative difference (hosts' clocks apart)."""
    accepted_at_ms = minted_at_ms(usage.request_id) if usage.request_id else None
    if accepted_at_ms is None or counted_at_ms < accepted_at_ms:
        return None
    return counted_at_ms - accepted_at_ms


def record_counted(applied: Applied, clock: Clock = system_clock) -> None:
    """Call after the counter's transaction committed: `applied.counted` are newly counted."""
    business_metrics.count(business_metrics.USAGE_EVENTS_COUNTED, len(applied.counted))
    business_metrics.count(business_metrics.USAGE_EVENTS_ALREADY_COUNTED, len(applied.already_counted))
    if not applied.counted:
        return
    counted_at_ms = clock.now().timestamp() * 1000
    latencies = [ingest_to_counted_ms(usage, counted_at_ms) for usage in applied.counted]
    business_metrics.milliseconds_samples(
        business_metrics.USAGE_INGEST_TO_COUNTED_MS, [ms for ms in latencies if ms is not None]
    )
