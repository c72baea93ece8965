"""Capture the EMF records the real code prints (Powertools writes one JSON line per metric set to
stdout when a handler's `@metrics.log_metrics` flushes) and read them back per metric."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from meterplex.platform.observability import metrics


@dataclass
class Emf:
    capsys: pytest.CaptureFixture[str]
    records: list[dict[str, Any]] = field(default_factory=list)

    def read(self, *, flush: bool = False) -> list[dict[str, Any]]:
        """The EMF records printed since the last read (`flush`: first flush what a service call
        added outside a handler, as the handler's decorator would)."""
        if flush:
            metrics.flush_metrics()
        printed = self.capsys.readouterr().out
        found = []
        for line in printed.splitlines():
            line = line.strip()
            if line.startswith("{") and '"_aws"' in line:
                found.append(json.loads(line))
        self.records += found
        return found

    def values(self, name: str, records: list[dict[str, Any]] | None = None) -> list[float]:
        """Every value of metric `name` in `records` (default: all read so far)."""
        out: list[float] = []
        for record in self.records if records is None else records:
            if name in _names(record):
                value = record[name]
                out += value if isinstance(value, list) else [value]
        return out

    def total(self, name: str, records: list[dict[str, Any]] | None = None) -> float:
        return sum(self.values(name, records))

    def dimension_sets(self, name: str) -> list[list[str]]:
        """The dimension sets of each record that carries `name`."""
        return [
            dims
            for record in self.records
            for directive in record["_aws"]["CloudWatchMetrics"]
            if name in {m["Name"] for m in directive["Metrics"]}
            for dims in directive["Dimensions"]
        ]

    def unit(self, name: str) -> str:
        units = {
            m.get("Unit")
            for record in self.records
            for directive in record["_aws"]["CloudWatchMetrics"]
            for m in directive["Metrics"]
            if m["Name"] == name
        }
        (unit,) = units
        return str(unit)


def _names(record: dict[str, Any]) -> set[str]:
    return {m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def capture(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Emf]:
    """For a test's `emf` fixture: metrics on (tests/conftest.py turns them off), the shared metric
    set empty, stdout read so far discarded."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    metrics.clear_metrics()
    capsys.readouterr()
    yield Emf(capsys)
    metrics.clear_metrics()
