"""Local telemetry: each function's log lines and EMF metric records, captured per function.

In AWS, Lambda sends whatever a function writes to stdout to its own CloudWatch log group, and
CloudWatch turns the EMF records among those lines into metrics. Locally every function runs in
this one process, on the thread that delivers its event (`FunctionRunner`), and Powertools writes
to stdout — the Logger through its handler's stream, Metrics with `print()`. So the sink puts a tee
in front of both: every line is still echoed to the console as before, and a line written while a
function runs (`capture(name)`, per thread) is also appended to `<directory>/<function>.jsonl`;
the EMF records among them feed a `MetricRegistry` (what `GET /local/metrics` renders). Nothing
in the functions changes (ADR 0106).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from infra.local.prometheus import MetricRegistry

LOG_SUFFIX = ".jsonl"
LOGS_DIR_ENV = "MP_LOCAL_LOGS_DIR"  # where the files go (default: .local/logs of the checkout)
_current = threading.local()  # .function: the function this thread runs now; .buffer: a partial line


def logs_directory(state_dir: Path) -> Path:
    """Where a local cloud keeps its function logs: $MP_LOCAL_LOGS_DIR, else `<state>/logs`."""
    return Path(os.environ.get(LOGS_DIR_ENV) or Path(state_dir) / "logs")


def current_function() -> str | None:
    return getattr(_current, "function", None)


class _Tee:
    """A text stream that echoes everything to `echo` and hands each complete line written by a
    thread that runs a function to the sink."""

    def __init__(self, sink: TelemetrySink, echo: IO[str]) -> None:
        self._sink = sink
        self.echo = echo

    def write(self, text: str) -> int:
        written = self.echo.write(text)
        function = current_function()
        if function is not None and text:
            pending = getattr(_current, "buffer", "") + text
            *lines, rest = pending.split("\n")
            _current.buffer = rest
            for line in lines:
                self._sink.record(function, line)
        return written

    def flush(self) -> None:
        self.echo.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty… of the console
        return getattr(self.echo, name)


class TelemetrySink:
    """Per-function log files and the metric registry built from their EMF records."""

    def __init__(self, directory: Path, registry: MetricRegistry | None = None) -> None:
        self.directory = Path(directory)
        self.registry = registry or MetricRegistry()
        self._files: dict[str, IO[str]] = {}
        self._lock = threading.Lock()
        self._restore: list[tuple[Any, str, Any]] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> TelemetrySink:
        """Fresh files for this run (a previous run's are removed), and the tee installed."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for old in self.directory.glob(f"*{LOG_SUFFIX}"):
            old.unlink()
        self._install()
        return self

    def _install(self) -> None:
        from meterplex.platform.observability import logger

        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler.stream, _Tee):
            self._restore.append((handler, "stream", handler.stream))
            handler.setStream(_Tee(self, handler.stream))
        if not isinstance(sys.stdout, _Tee):
            self._restore.append((sys, "stdout", sys.stdout))
            sys.stdout = _Tee(self, sys.stdout)

    def stop(self) -> None:
        while self._restore:
            owner, name, previous = self._restore.pop()
            if isinstance(owner, logging.StreamHandler):
                owner.setStream(previous)
            else:
                setattr(owner, name, previous)
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()

    # -- capture ---------------------------------------------------------------------------
    @contextmanager
    def capture(self, function: str) -> Iterator[None]:
        """Lines this thread writes meanwhile belong to `function` (one invocation)."""
        previous = current_function()
        _current.function = function
        try:
            yield
        finally:
            rest = getattr(_current, "buffer", "")
            _current.buffer = ""
            if rest:
                self.record(function, rest)
            _current.function = previous

    def record(self, function: str, line: str) -> None:
        """One line of `function`'s output: kept in its file as JSON, its metrics registered."""
        text = line.strip()
        if not text:
            return
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):  # a bare print(): kept, as CloudWatch would keep it
            parsed = {"message": text, "timestamp": datetime.now(UTC).isoformat()}
            text = json.dumps(parsed)
        self.registry.observe(function, parsed)
        with self._lock:
            file = self._files.get(function)
            if file is None:
                file = self._files[function] = (self.directory / f"{function}{LOG_SUFFIX}").open(
                    "a", encoding="utf-8", buffering=1
                )
            file.write(text + "\n")
