"""The local telemetry sink (ADR 0106): each function's log lines and EMF records kept per function,
rendered as Prometheus text (`GET /local/metrics`), and a correlation id's path (`trace`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from infra.local.functions import FunctionRunner
from infra.local.prometheus import MetricRegistry, metric_name
from infra.local.telemetry import TelemetrySink
from infra.local.trace import lines_of, render


def emf(name: str, unit: str, value: Any, **properties: Any) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": 1_796_140_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Meterplex",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        "service": "usage_api",
        name: value,
        **properties,
    }


def test_metric_names_are_snake_case_with_the_namespace() -> None:
    assert metric_name("Meterplex", "UsageEventsAccepted") == "meterplex_usage_events_accepted"
    assert metric_name("Meterplex", "UsageIngestToCountedMs") == "meterplex_usage_ingest_to_counted_ms"
    assert metric_name("Meterplex", "ColdStart") == "meterplex_cold_start"


def test_counts_are_counters_per_function_and_other_units_summaries() -> None:
    # GIVEN EMF records of two functions, one carrying a tenant id as a property
    registry = MetricRegistry()
    registry.observe("usage_api", emf("UsageEventsAccepted", "Count", 2.0, tenantId="t-secret"))
    registry.observe("usage_api", emf("UsageEventsAccepted", "Count", [1.0, 3.0]))
    registry.observe("ingest_api", emf("UsageEventsAccepted", "Count", 5))
    for value in range(1, 101):
        registry.observe("usage_aggregator", emf("UsageIngestToCountedMs", "Milliseconds", float(value)))
    registry.observe("usage_api", {"message": "not an EMF record", "UsageEventsAccepted": 99})

    # WHEN the registry is rendered
    text = registry.render()

    # THEN a counter per function with the values summed; a summary with quantiles, sum and count
    assert text.splitlines() == [
        "# HELP meterplex_usage_events_accepted_total UsageEventsAccepted (Count), from EMF records",
        "# TYPE meterplex_usage_events_accepted_total counter",
        'meterplex_usage_events_accepted_total{function="ingest_api"} 5',
        'meterplex_usage_events_accepted_total{function="usage_api"} 6',
        "# HELP meterplex_usage_ingest_to_counted_ms UsageIngestToCountedMs (Milliseconds), from EMF records",
        "# TYPE meterplex_usage_ingest_to_counted_ms summary",
        'meterplex_usage_ingest_to_counted_ms{function="usage_aggregator",quantile="0.5"} 50',
        'meterplex_usage_ingest_to_counted_ms{function="usage_aggregator",quantile="0.9"} 90',
        'meterplex_usage_ingest_to_counted_ms{function="usage_aggregator",quantile="0.99"} 99',
        'meterplex_usage_ingest_to_counted_ms_sum{function="usage_aggregator"} 5050',
        'meterplex_usage_ingest_to_counted_ms_count{function="usage_aggregator"} 100',
    ]
    # AND no property or dimension ever becomes a label
    assert "t-secret" not in text and "service" not in text


def test_nothing_observed_renders_nothing() -> None:
    assert MetricRegistry().render() == ""


HANDLER = """
import threading
from aws_lambda_powertools.metrics import MetricUnit
from meterplex.platform.observability import logger, metrics

ENTERED = threading.Event()
RELEASE = threading.Event()


@metrics.log_metrics
def lambda_handler(event, context):
    logger.set_correlation_id(event["correlation"])
    metrics.add_metric(name=event["metric"], unit=MetricUnit.Count, value=1)
    if event.get("wait"):
        ENTERED.set()
        RELEASE.wait(5)  # the other function runs, logs and flushes its metrics meanwhile
    logger.info("handled", metric=event["metric"])
    print("a bare print")
    return "ok"
"""


def test_functions_running_at_once_keep_their_own_lines_metrics_and_correlation_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # the suites turn them off
    # GIVEN two functions in one process, each its own log file
    functions = tmp_path / "functions"
    for name in ("slow_fn", "fast_fn"):
        (functions / name).mkdir(parents=True)
        (functions / name / "handler.py").write_text(HANDLER)
    runner = FunctionRunner(functions)
    slow_module = runner.load("slow_fn")
    # this thread (fast_fn's) starts with no metric pending: earlier tests of the process may have
    # added some without a handler to flush them
    Metrics().clear_metrics()
    sink = TelemetrySink(tmp_path / "logs").start()
    runner.telemetry = sink
    try:
        # WHEN slow_fn is held mid-invocation while fast_fn runs to the end on another thread
        slow = threading.Thread(
            target=runner.invoke,
            args=("slow_fn", {"correlation": "c-slow", "metric": "SlowThings", "wait": 1}),
        )
        slow.start()
        assert slow_module.ENTERED.wait(5)
        runner.invoke("fast_fn", {"correlation": "c-fast", "metric": "FastThings"})
        slow_module.RELEASE.set()
        slow.join(5)
    finally:
        sink.stop()

    # THEN each file holds only its function's lines, under its own correlation id …
    def lines(name: str) -> list[dict[str, Any]]:
        return [json.loads(t) for t in (tmp_path / "logs" / f"{name}.jsonl").read_text().splitlines()]

    by_function = {name: lines(name) for name in ("slow_fn", "fast_fn")}
    handled = {
        name: [(line["correlation_id"], line["metric"]) for line in own if line.get("message") == "handled"]
        for name, own in by_function.items()
    }
    assert handled == {"slow_fn": [("c-slow", "SlowThings")], "fast_fn": [("c-fast", "FastThings")]}
    assert all(any(line.get("message") == "a bare print" for line in own) for own in by_function.values())
    # … and each function's metrics were flushed by that function alone
    emitted = {
        name: [
            m["Name"]
            for line in own
            if "_aws" in line
            for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        ]
        for name, own in by_function.items()
    }
    assert emitted == {"slow_fn": ["SlowThings"], "fast_fn": ["FastThings"]}
    text = sink.registry.render()
    assert 'meterplex_slow_things_total{function="slow_fn"} 1' in text
    assert 'meterplex_fast_things_total{function="fast_fn"} 1' in text


def write_log(path: Path, *records: dict[str, Any]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_trace_orders_a_correlation_ids_lines_across_functions(tmp_path: Path) -> None:
    # GIVEN three functions' logs; the API's line reports its duration (it began 30 ms earlier)
    write_log(
        tmp_path / "usage_api.jsonl",
        {
            "level": "INFO",
            "message": "request handled",
            "timestamp": "2026-12-01 15:40:00,130+0000",
            "correlation_id": "c1",
            "status": 202,
            "duration_ms": 30.0,
        },
        {
            "level": "INFO",
            "message": "request handled",
            "timestamp": "2026-12-01 15:40:00,100+0000",
            "correlation_id": "other",
        },
    )
    write_log(
        tmp_path / "outbox_relay.jsonl",
        {
            "level": "INFO",
            "message": "outbox messages relayed",
            "timestamp": "2026-12-01 15:40:00,125+0000",
            "correlation_id": "c1",
            "event_ids": ["e1", "e2", "e3", "e4", "e5", "e6", "e7"],
        },
    )
    write_log(
        tmp_path / "usage_aggregator.jsonl",
        {
            "level": "INFO",
            "message": "usage events applied",
            "timestamp": "2026-12-01 15:40:00,180+0000",
            "correlation_id": "c1",
            "outcome": "counted",
        },
    )
    # WHEN the trace of c1 is read and rendered
    lines = lines_of("c1", tmp_path)
    text = render("c1", lines)
    # THEN the request comes first (where it began), then the relay, then the aggregator, with offsets
    assert [line.function for line in lines] == ["usage_api", "outbox_relay", "usage_aggregator"]
    assert "c1: 3 lines in 3 functions, 80 ms from the first to the last" in text
    rows = [row.split() for row in text.splitlines() if row.strip().startswith("+") and " ms  " in row]
    assert [(row[0], row[3]) for row in rows] == [
        ("+0", "usage_api"),
        ("+25", "outbox_relay"),
        ("+80", "usage_aggregator"),
    ]
    assert "event_ids=e1,e2,e3,e4,e5,…(+2 more)" in text and "outcome=counted" in text and "other" not in text
    assert "usage_aggregator  +80 ms → +80 ms" in text


def test_trace_of_an_unknown_id_finds_nothing(tmp_path: Path) -> None:
    write_log(
        tmp_path / "usage_api.jsonl",
        {"message": "x", "timestamp": "2026-12-01T15:40:00Z", "correlation_id": "c1"},
    )
    assert lines_of("c2", tmp_path) == []
    assert render("c2", []) == "no log line with correlation id c2\n"
