"""`meterplex usage send FILE`: a JSON Lines or CSV file of usage events, in batches, resumable.

Every line becomes one event. A line without `eventId` gets one derived from its line number and
content (UUIDv5), so sending the same file again — or resuming it — reports duplicates, never a
second count. After each answered batch a checkpoint (the next line, the counts so far) is written
to the config directory; an interrupted run resumes there unless `--restart` is given. Lines the
API would refuse for the whole batch (bad JSON, no feature, a non-integer amount) are not sent:
they are counted as `invalid` with their line numbers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meterplex_client.cli.profiles import config_dir
from meterplex_client.models.usage import ACCEPTED, DUPLICATE, REJECTED, UsageBatchResult
from meterplex_client.usage.events import usage_event
from meterplex_client.usage.journal import Event

LINE_NAMESPACE = uuid.UUID("6f0e3c1e-3a51-4d0e-9a43-6d6574657270")  # fixed: same line → same id
ALIASES = {"event_id": "eventId", "id": "eventId"}
MAX_EXAMPLES = 10


@dataclass
class SendReport:
    file: str
    lines: int = 0  # lines read (data lines; a CSV header is not one)
    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    invalid: int = 0
    next_line: int = 1  # the first line not yet answered (1-based)
    resumed_from: int | None = None
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)  # first rejected/invalid lines
    complete: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def detect_format(path: Path, given: str) -> str:
    if given != "auto":
        return given
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record) per data line; a string instead of a record says why it is invalid."""
    with path.open(encoding="utf-8", newline="") as handle:
        if fmt == "csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                yield number, "not a JSON object"
                continue
            yield number, record if isinstance(record, dict) else "not a JSON object"


def event_of(number: int, record: dict[str, Any]) -> Event:
    """The record as an API event (raises ValueError for what the API refuses for a batch)."""
    fields = {ALIASES.get(k, k): v for k, v in record.items()}
    unknown = set(fields) - {"eventId", "feature", "amount", "timestamp", "metadata"}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    if "feature" not in fields:
        raise ValueError("no feature")
    amount = fields.get("amount", 1)
    if isinstance(amount, str):
        if not amount.strip().isdigit():
            raise ValueError("amount must be a positive integer")
        amount = int(amount)
    metadata = fields.get("metadata")
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    event_id = fields.get("eventId")
    if event_id is None:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
        event_id = str(uuid.uuid5(LINE_NAMESPACE, f"{number}:{canonical}"))
    return usage_event(
        str(fields["feature"]),
        amount,
        event_id=str(event_id),
        timestamp=fields.get("timestamp"),
        metadata=metadata,
    )


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


# ---------------------------------------------------------------------- checkpoints
def checkpoint_path(path: Path) -> Path:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    return config_dir() / "usage-send" / f"{digest}.json"


def _identity(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def load_checkpoint(path: Path) -> SendReport | None:
    try:
        saved = json.loads(checkpoint_path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if saved.get("identity") != _identity(path):
        return None  # the file changed: its line numbers mean something else now
    return SendReport(**saved["report"])


def save_checkpoint(path: Path, report: SendReport) -> None:
    target = checkpoint_path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = target.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"identity": _identity(path), "report": report.to_json()}, out)
    os.replace(temp, target)


def clear_checkpoint(path: Path) -> None:
    checkpoint_path(path).unlink(missing_ok=True)


# ---------------------------------------------------------------------- the run
def send_file(
    path: Path,
    send: Callable[[list[Event]], UsageBatchResult],
    *,
    fmt: str = "auto",
    batch_size: int = 1000,
    resume: bool = True,
    progress: Callable[[int], None] = lambda _: None,
) -> SendReport:
    """Send the file's events; the report of the whole file (resumed runs included).

    Raises what `send` raises (after its retries) — the checkpoint then points at the first
    unanswered line, so running again resumes there."""
    report = load_checkpoint(path) if resume else None
    if report is None:
        report = SendReport(file=str(path))
    else:
        report.resumed_from = report.next_line
        progress(report.next_line - 1)  # the lines an earlier run had answered
    reasons = Counter(report.rejected_reasons)
    batch: list[tuple[int, Event]] = []

    def flush() -> None:
        if not batch:
            return
        answer = send([event for _, event in batch])
        for (number, event), outcome in zip(batch, answer.events, strict=True):
            if outcome.status == REJECTED:
                reasons[outcome.reason or "REJECTED"] += 1
                _example(report, number, outcome.reason or "REJECTED", event)
        report.sent += len(batch)
        report.accepted += sum(1 for o in answer.events if o.status == ACCEPTED)
        report.duplicates += sum(1 for o in answer.events if o.status == DUPLICATE)
        report.rejected += sum(1 for o in answer.events if o.status == REJECTED)
        report.next_line = batch[-1][0] + 1
        report.rejected_reasons = dict(reasons)
        save_checkpoint(path, report)
        progress(len(batch))
        batch.clear()

    start = report.next_line
    for number, record in read_records(path, detect_format(path, fmt)):
        if number < start:
            continue
        report.lines += 1
        if isinstance(record, str):
            _invalid(report, number, record)
            progress(1)
            continue
        try:
            batch.append((number, event_of(number, record)))
        except (ValueError, TypeError) as error:
            _invalid(report, number, str(error))
            progress(1)
            continue
        if len(batch) >= batch_size:
            flush()
    flush()
    report.complete = True
    clear_checkpoint(path)
    return report


def _invalid(report: SendReport, number: int, why: str) -> None:
    report.invalid += 1
    _example(report, number, f"invalid: {why}", None)


def _example(report: SendReport, number: int, reason: str, event: Event | None) -> None:
    if len(report.examples) < MAX_EXAMPLES:
        report.examples.append({"line": number, "reason": reason, "eventId": (event or {}).get("eventId")})
