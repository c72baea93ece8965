"""Usage events on disk: the journal of live events and the spill files (ADR 0056).

A *segment* is a JSON Lines file of events (`{"eventId": …}`) and acks (`{"ack": [ids]}`). The
process's live segment is appended by `track()` and held with an exclusive `flock`; the kernel
releases the lock however the process ends, so a segment nobody holds belongs to a process that is
gone (or is a spill file) and may be adopted: its unacked events are sent again with their ids.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from meterplex_client.ids import uuid7

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no journal (ADR 0056)
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("meterplex_client.usage")

SUFFIX = ".jsonl"
FILE_MODE = 0o600
DIR_MODE = 0o700

Event = dict[str, Any]


def journal_supported() -> bool:
    return fcntl is not None


def _line(record: Any) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


class Segment:
    """One open, locked segment file. `pending` counts its events not yet acked."""

    def __init__(self, path: Path, fd: int, pending: int = 0) -> None:
        self.path = path
        self._fd = fd
        self.pending = pending
        self.sealed = False  # no more appends: deleted once nothing is pending
        self._lock = threading.Lock()

    def append(self, event: Event) -> None:
        with self._lock:
            os.write(self._fd, _line(event))
            self.pending += 1

    def ack(self, event_ids: list[str]) -> None:
        with self._lock:
            if self._fd < 0:
                return
            os.write(self._fd, _line({"ack": event_ids}))
            self.pending -= len(event_ids)
            if self.sealed and self.pending <= 0:
                self._remove()

    def sync(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)

    def seal(self) -> None:
        with self._lock:
            self.sealed = True
            if self.pending <= 0:
                self._remove()

    def close(self) -> None:
        """Release the file (and its lock) without deleting it: what is pending stays on disk."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = -1


class SpillStore:
    """The directory of one client's segments (one directory per base URL + API key)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)

    def open_live(self) -> Segment:
        path = self.directory / f"seg-{uuid7()}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, FILE_MODE)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return Segment(path, fd)

    def spill(self, events: Iterable[Event]) -> Path:
        """Write `events` to a new, unlocked segment (atomically: temp file, fsync, rename)."""
        path = self.directory / f"spill-{uuid7()}{SUFFIX}"
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.write(fd, b"".join(_line(e) for e in events))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        return path

    def orphans(self) -> Iterator[tuple[Segment, list[Event]]]:
        """Segments nobody holds, locked for this process, with their unacked events."""
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            adopted = self._adopt(path)
            if adopted is not None:
                yield adopted

    def _adopt(self, path: Path) -> tuple[Segment, list[Event]] | None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None  # a live process holds it
        if not path.exists():  # removed between open and lock
            os.close(fd)
            return None
        events = unacked(path.read_bytes())
        segment = Segment(path, fd, pending=len(events))
        segment.sealed = True
        if not events:
            segment.seal()
            return None
        return segment, events


def unacked(data: bytes) -> list[Event]:
    """Events of a segment without an ack, in file order (a torn last line is skipped)."""
    events: dict[str, Event] = {}
    acked: set[str] = set()
    for raw in data.splitlines():
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "ack" in record:
            acked.update(record["ack"])
        elif "eventId" in record:
            events.setdefault(record["eventId"], record)
    return [e for event_id, e in events.items() if event_id not in acked]
