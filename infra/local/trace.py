"""`python -m infra.local trace <correlationId>`: one request's path through the functions.

Reads the per-function log files of the local telemetry sink (`.local/logs/<function>.jsonl`),
keeps the lines logged under that correlation id (Powertools' `correlation_id` key: set by every
API function per request and by every consumer per record, ADR 0105) and prints them in time
order: each line with its function, its time and the time since the first line, then each
function's span (ADR 0106). A line that reports a duration (`duration_ms`: an API function's
"request handled") stands for work that began that long before it was written: it is placed, and
timed, where that work began.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.local.telemetry import LOG_SUFFIX

CORRELATION_KEY = "correlation_id"
LIST_SHOWN = 5  # items of a list field printed before "…(+N more)"
# fields every line has, or that say nothing about what happened: not repeated in the output
_ROUTINE = {
    CORRELATION_KEY,
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "sampling_rate",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
}


@dataclass(frozen=True)
class Line:
    function: str
    at: datetime  # when the work it reports began (written at, less its duration)
    record: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.record.get("message", ""))

    @property
    def level(self) -> str:
        return str(self.record.get("level", ""))

    def details(self) -> str:
        return " ".join(
            f"{k}={_shown(v)}" for k, v in self.record.items() if k not in _ROUTINE and v is not None
        )


def _shown(value: Any) -> str:
    """A field's value as the trace prints it: a list (a batch line's event ids) comma-separated,
    its first few only when it is long."""
    if not isinstance(value, list):
        return str(value)
    if len(value) <= LIST_SHOWN:
        return ",".join(map(str, value))
    return ",".join(map(str, value[:LIST_SHOWN])) + f",…(+{len(value) - LIST_SHOWN} more)"


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:  # Powertools' default `2026-12-01 15:40:00,123+0000` is ISO 8601 too
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def began(written: datetime, record: dict[str, Any]) -> datetime:
    duration = record.get("duration_ms")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and 0 <= duration < 3.6e6:
        return written - timedelta(milliseconds=duration)
    return written


def lines_of(correlation_id: str, directory: Path) -> list[Line]:
    """Every line logged under `correlation_id`, by time (a file's own order among equal times)."""
    found: list[Line] = []
    for path in sorted(Path(directory).glob(f"*{LOG_SUFFIX}")):
        with path.open(encoding="utf-8", errors="replace") as file:
            for text in file:
                if correlation_id not in text:  # cheap filter before parsing
                    continue
                try:
                    record = json.loads(text)
                except ValueError:
                    continue
                at = parse_time(record.get("timestamp")) if isinstance(record, dict) else None
                if at is not None and record.get(CORRELATION_KEY) == correlation_id:
                    found.append(Line(path.name.removesuffix(LOG_SUFFIX), began(at, record), record))
    return sorted(found, key=lambda line: line.at)  # stable: equal times keep file order


def _ms(line: Line, first: datetime) -> int:
    return round((line.at - first).total_seconds() * 1000)


def render(correlation_id: str, lines: list[Line]) -> str:
    if not lines:
        return f"no log line with correlation id {correlation_id}\n"
    first = lines[0].at
    functions: dict[str, list[Line]] = {}
    for line in lines:
        functions.setdefault(line.function, []).append(line)
    width = max(len(name) for name in functions)
    out = [
        f"correlation id {correlation_id}: {len(lines)} lines in {len(functions)} functions, "
        f"{_ms(lines[-1], first)} ms from the first to the last",
        "",
    ]
    for line in lines:
        stamp = line.at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]
        details = line.details()
        out.append(
            f"  {'+' + str(_ms(line, first)):>7} ms  {stamp}  {line.function:<{width}}  {line.level:<7} "
            f"{line.message}{'  ' + details if details else ''}"
        )
    out += ["", "per function (first → last line, from the first line of the trace):"]
    for name, own in functions.items():
        start, end = _ms(own[0], first), _ms(own[-1], first)
        out.append(f"  {name:<{width}}  +{start} ms → +{end} ms  ({end - start} ms, {len(own)} lines)")
    return "\n".join(out) + "\n"


def run(correlation_id: str, directory: Path) -> int:
    lines = lines_of(correlation_id, directory)
    print(render(correlation_id, lines), end="")
    return 0 if lines else 1
