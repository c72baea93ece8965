"""The aggregator's metrics (ADR 0100): UsageEventsCounted for newly counted events only, and one
UsageIngestToCountedMs sample per counted event — real time from the ingest request's UUIDv7 id to
the count, whatever the test clock says."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meterplex.platform.clock import FixedClock, iso
from meterplex.platform.ids import minted_at_ms, new_id
from meterplex.platform.observability import metrics
from meterplex.usage.counters import Applied
from meterplex.usage.metrics import ingest_to_counted_ms, record_counted
from meterplex.usage.models import UsageRecord

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def request_id_at(moment: datetime) -> str:
    """A UUIDv7 minted at `moment` (what `new_id()` would have minted then)."""
    millis = int(moment.timestamp() * 1000)
    return str(uuid.UUID(int=(millis << 80) | (0x7 << 76) | (0b10 << 62) | 12345))


def usage(event_id: str, accepted: datetime, *, business_received: datetime | None = None) -> UsageRecord:
    received = business_received or accepted
    return UsageRecord(
        tenant_id="t1",
        event_id=event_id,
        feature="calls",
        amount=1,
        timestamp=iso(received),
        subscription_id="s1",
        window_start="2026-12-01T00:00:00.000Z",
        window_end="2027-01-01T00:00:00.000Z",
        received_at=iso(received),
        request_id=request_id_at(accepted),
    )


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, Any]]:
    """What record_counted emitted: the metric set (counts, flushed by the handler) and, under
    "printed", the values of the EMF records it printed at once (the latency samples)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()
    capsys.readouterr()
    emitted: dict[str, Any] = {}
    yield emitted
    metrics.clear_metrics()


def _read(emitted: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emitted.update(metrics.metric_set)
    emitted["printed"] = records
    return emitted


def test_minted_at_ms_reads_a_new_id_and_refuses_other_strings() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    minted = minted_at_ms(new_id())
    after = int(datetime.now(UTC).timestamp() * 1000)
    assert minted is not None and before <= minted <= after
    assert minted_at_ms(str(uuid.uuid4())) is None
    assert minted_at_ms("event:e-1") is None


def test_latency_is_the_real_time_from_the_request_id_to_the_count() -> None:
    counted = NOW.timestamp() * 1000
    assert ingest_to_counted_ms(usage("a", NOW - timedelta(milliseconds=1250)), counted) == 1250


def test_latency_ignores_business_time_moved_by_the_test_clock() -> None:
    # GIVEN an event accepted 300 ms ago while the test clock said 40 days later (receivedAt)
    event = usage("a", NOW - timedelta(milliseconds=300), business_received=NOW + timedelta(days=40))
    # THEN its latency is the real 300 ms, not −40 days
    assert ingest_to_counted_ms(event, NOW.timestamp() * 1000) == 300


def test_an_event_without_a_request_id_or_from_the_future_gives_no_sample() -> None:
    assert ingest_to_counted_ms(replace(usage("a", NOW), request_id=""), NOW.timestamp() * 1000) is None
    assert ingest_to_counted_ms(usage("b", NOW + timedelta(seconds=1)), NOW.timestamp() * 1000) is None


def test_record_counted_emits_one_latency_sample_per_newly_counted_event(
    emitted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    applied = Applied(
        counted=[usage("a", NOW - timedelta(milliseconds=10)), usage("b", NOW - timedelta(milliseconds=20))],
        already_counted=[usage("c", NOW - timedelta(seconds=5))],
    )
    record_counted(applied, FixedClock(NOW))
    _read(emitted, capsys)
    assert emitted["UsageEventsCounted"]["Value"] == [2.0]
    assert emitted["UsageEventsAlreadyCounted"]["Value"] == [1.0]
    # the re-delivered event is no sample: its latency was measured when it was counted
    (record,) = emitted["printed"]
    assert record["UsageIngestToCountedMs"] == [10.0, 20.0]
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "UsageIngestToCountedMs", "Unit": "Milliseconds"}]
    assert directive["Dimensions"] == [["service"]] and directive["Namespace"] == "Meterplex"


def test_a_large_batch_prints_records_of_at_most_100_samples(
    emitted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    counted = [usage(f"e-{i}", NOW - timedelta(milliseconds=i)) for i in range(250)]
    record_counted(Applied(counted=counted), FixedClock(NOW))
    sizes = [len(r["UsageIngestToCountedMs"]) for r in _read(emitted, capsys)["printed"]]
    assert sizes == [100, 100, 50]


def test_a_batch_counting_nothing_new_emits_zero_counted_and_no_sample(
    emitted: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    record_counted(Applied(already_counted=[usage("a", NOW)]), FixedClock(NOW))
    _read(emitted, capsys)
    assert emitted["UsageEventsCounted"]["Value"] == [0.0]
    assert emitted["printed"] == []
