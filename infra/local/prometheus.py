"""`GET /local/metrics`: the functions' EMF metric records as Prometheus text (exposition 0.0.4).

The records are the ones the functions print for CloudWatch (Powertools Metrics), captured per
function by the local telemetry sink. Each metric becomes one family named
`<namespace>_<snake_case name>`: a counter (`_total`) for unit Count, a summary (p50/p90/p99 over
the last `RESERVOIR` values, `_sum`, `_count`) for any other unit. The only label is `function`:
EMF dimensions and properties are never labels, so no tenant, user or id can become one (the
metric contract: low cardinality, ADR 0106).
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
COUNT_UNIT = "Count"
RESERVOIR = 1024  # values kept per series for the quantiles
QUANTILES = (0.5, 0.9, 0.99)
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def metric_name(namespace: str, name: str) -> str:
    """`Meterplex`, `UsageIngestToCountedMs` → `meterplex_usage_ingest_to_counted_ms`."""
    words = f"{_WORD.sub('_', namespace)}_{_WORD.sub('_', name)}".lower()
    return _NOT_NAME.sub("_", words)


def label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class Series:
    """One metric of one function: every value's sum and count, the recent values."""

    total: float = 0.0
    count: int = 0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RESERVOIR))

    def add(self, value: float) -> None:
        self.total += value
        self.count += 1
        self.recent.append(value)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.recent)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Family:
    name: str  # the EMF metric name
    unit: str
    series: dict[str, Series] = field(default_factory=dict)  # function → series


def emf_values(record: dict[str, Any]) -> list[tuple[str, str, str, list[float]]]:
    """(namespace, metric name, unit, values) of each metric an EMF record declares; [] for a
    record that is not EMF."""
    directives = (record.get("_aws") or {}).get("CloudWatchMetrics") if isinstance(record, dict) else None
    if not isinstance(directives, list):
        return []
    found = []
    for directive in directives:
        namespace = str((directive or {}).get("Namespace") or "")
        for metric in (directive or {}).get("Metrics") or []:
            name = str((metric or {}).get("Name") or "")
            raw = record.get(name)
            values = raw if isinstance(raw, list) else [raw]
            numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if name and numbers:
                found.append((namespace, name, str(metric.get("Unit") or "None"), numbers))
    return found


class MetricRegistry:
    """Metric families from EMF records, by function; thread-safe."""

    def __init__(self) -> None:
        self._families: dict[tuple[str, str], Family] = {}
        self._lock = threading.Lock()

    def observe(self, function: str, record: dict[str, Any]) -> None:
        for namespace, name, unit, values in emf_values(record):
            with self._lock:
                family = self._families.setdefault((namespace, name), Family(name, unit))
                series = family.series.setdefault(function, Series())
                for value in values:
                    series.add(value)

    def render(self) -> str:
        with self._lock:
            families = sorted(self._families.items(), key=lambda item: metric_name(*item[0]))
            lines: list[str] = []
            for (namespace, name), family in families:
                lines.extend(_family_lines(metric_name(namespace, name), family))
        return "\n".join(lines) + "\n" if lines else ""


def _family_lines(base: str, family: Family) -> list[str]:
    counter = family.unit == COUNT_UNIT
    name = f"{base}_total" if counter else base
    lines = [
        f"# HELP {name} {family.name} ({family.unit}), from EMF records",
        f"# TYPE {name} {'counter' if counter else 'summary'}",
    ]
    for function, series in sorted(family.series.items()):
        label = f'function="{label_value(function)}"'
        if counter:
            lines.append(f"{base}_total{{{label}}} {number(series.total)}")
            continue
        for q in QUANTILES:
            lines.append(f'{base}{{{label},quantile="{q}"}} {number(series.quantile(q))}')
        lines.append(f"{base}_sum{{{label}}} {number(series.total)}")
        lines.append(f"{base}_count{{{label}}} {series.count}")
    return lines
