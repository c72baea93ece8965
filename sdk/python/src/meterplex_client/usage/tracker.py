"""The usage tracker: a bounded queue, one sender, the journal and spill files (ADR 0056).

`track()` journals the event (one `write()`), queues it and returns; the sender sends batches of
up to `batch_size` when one is full or `flush_interval_s` passed (a background thread, or inline
in Lambda). Every event ends *settled*: answered (accepted, duplicate, rejected → `on_rejected`),
or spilled to disk after the retries (→ `on_error`), from where a later recovery sends it again.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from meterplex_client.errors import APIConnectionError, APIStatusError, MeterplexError, UsageBufferFull
from meterplex_client.models.usage import REJECTED, UsageBatchResult
from meterplex_client.transport import RetryPolicy
from meterplex_client.usage.journal import Event, Segment, SpillStore, journal_supported

log = logging.getLogger("meterplex_client.usage")

MAX_BATCH = 1000  # the API's batch limit (SPEC §6)
SPILL_AT_ONCE = frozenset({401, 402, 403})  # the events are valid, the credentials or plan are not
EVENT_INDEX = re.compile(r"^events\[(\d+)\]")

SendBatch = Callable[[list[Event], RetryPolicy], UsageBatchResult]
OnRejected = Callable[[Event, str], None]
OnError = Callable[[Exception, int], None]


def _log_rejected(event: Event, reason: str) -> None:
    log.warning("usage event rejected", extra={"event_id": event.get("eventId"), "reason": reason})


def _log_error(error: Exception, spilled: int) -> None:
    log.error("usage batch not delivered; %d events spilled to disk for a later re-send: %s", spilled, error)


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@dataclass
class UsageOptions:
    """How `mp.usage` buffers, sends and keeps events (ADR 0056)."""

    batch_size: int = MAX_BATCH
    flush_interval_s: float = 1.0
    max_queue: int = 10_000
    max_block_s: float = 5.0
    max_retries: int = 8
    durability: Literal["journal", "memory"] = "journal"
    spill_dir: str | Path | None = None  # default: MP_SPILL_DIR, the user cache dir, or the temp dir
    background: bool | None = None  # None: a sender thread, except in AWS Lambda
    redrive_interval_s: float = 30.0
    segment_max_events: int = 100_000
    on_rejected: OnRejected = _log_rejected
    on_error: OnError = _log_error
    retry: RetryPolicy | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1–{MAX_BATCH}")
        if self.max_queue < self.batch_size:
            raise ValueError("max_queue must hold at least one batch")

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.retry or RetryPolicy(max_retries=self.max_retries)

    @property
    def closing_retry(self) -> RetryPolicy:
        """At `close()` (and exit) a short try: what is not sent stays journaled for the next start."""
        return RetryPolicy(max_retries=min(1, self.retry_policy.max_retries), base_s=0.2)

    @property
    def runs_in_background(self) -> bool:
        return (not in_lambda()) if self.background is None else self.background


@dataclass
class UsageStats:
    tracked: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    spilled: int = 0
    resent: int = 0  # events recovered from disk and queued again
    batches: int = 0
    failures: int = 0


@dataclass
class _Item:
    event: Event
    segment: Segment | None  # where it is journaled (acked there once settled)


@dataclass
class _Settled:
    ids_by_segment: dict[int, tuple[Segment, list[str]]] = field(default_factory=dict)

    def add(self, item: _Item) -> None:
        if item.segment is not None:
            key = id(item.segment)
            if key not in self.ids_by_segment:
                self.ids_by_segment[key] = (item.segment, [])
            self.ids_by_segment[key][1].append(item.event["eventId"])


class UsageTracker:
    def __init__(self, options: UsageOptions, send: SendBatch, spill_dir: Path) -> None:
        self.options = options
        self.stats = UsageStats()
        self._send = send
        self._spill_dir = spill_dir
        self._journal = options.durability == "journal" and journal_supported()
        self._queue: deque[_Item] = deque()
        self._backlog: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._send_lock = threading.RLock()
        self._store: SpillStore | None = None
        self._live: Segment | None = None
        self._live_count = 0
        self._adopted: list[Segment] = []
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = False
        self._last_redrive = 0.0

    # ------------------------------------------------------------------ the caller's side
    def track(self, event: Event, *, block: bool = True) -> None:
        """Queue one event (journaled first); back-pressure when the queue is full.

        A full queue waits up to `max_block_s` for room, then spills its oldest batch to disk to
        make room; only when the disk refuses too, `UsageBufferFull` is raised (the event is not
        recorded, so the caller may retry it)."""
        self._start()
        opts = self.options
        with self._cond:
            if len(self._queue) >= opts.max_queue and block and self._thread is not None:
                self._cond.wait_for(lambda: len(self._queue) < opts.max_queue, timeout=opts.max_block_s)
            overflow = [self._queue.popleft() for _ in range(opts.batch_size)] if self._full() else []
        if overflow and not self._spill(overflow, UsageBufferFull("usage queue full"), requeue=self._queue):
            raise UsageBufferFull("the usage queue is full and the spill directory cannot be written")
        with self._cond:
            segment = self._live_segment() if self._journal else None
            if segment is not None:
                segment.append(event)
            self._queue.append(_Item(event, segment))
            self.stats.tracked += 1
            full = len(self._queue) >= opts.batch_size
            if full:
                self._cond.notify_all()
        if full and self._thread is None:
            self._send_ready(force=False)

    def _full(self) -> bool:
        return len(self._queue) >= self.options.max_queue

    def flush(self) -> None:
        """Send everything queued now; returns when each event is answered or spilled."""
        self._send_ready(force=True)

    def resend_spilled(self) -> int:
        """Queue the events of every orphaned segment (dead processes, spill files); send them."""
        queued = self._start() + self._redrive(force=True)
        self.flush()
        return queued

    def pending(self) -> int:
        with self._cond:
            return self._waiting()

    def _waiting(self) -> int:
        return len(self._queue) + len(self._backlog)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the sender, send what is queued; what cannot be sent stays on disk."""
        if not self._started:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.flush()
        with self._cond:
            for segment in [self._live, *self._adopted]:
                if segment is not None:
                    segment.seal() if segment.pending <= 0 else segment.close()
            self._live, self._adopted = None, []
            self._started = False

    # ------------------------------------------------------------------ the sender's side
    def _start(self) -> int:
        """Start once: the spill store, the sender thread, and a first recovery (its count)."""
        if self._started:
            return 0
        with self._cond:
            if self._started:
                return 0
            self._started, self._stopping = True, False
            self._store = SpillStore(self._spill_dir)
            if self.options.runs_in_background:
                self._thread = threading.Thread(target=self._run, name="meterplex-usage", daemon=True)
                self._thread.start()
            _close_at_exit(self)
        return self._redrive(force=True)

    def _run(self) -> None:
        interval = self.options.flush_interval_s
        last = time.monotonic()
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._stopping or len(self._queue) + len(self._backlog) >= self.options.batch_size
                    ),
                    timeout=max(0.0, last + interval - time.monotonic()),
                )
                stopping = self._stopping
            force = stopping or time.monotonic() >= last + interval
            try:
                self._send_ready(force)
                if force:
                    last = time.monotonic()
                    self._redrive(force=False)
            except Exception:  # never let the sender die: the events are journaled
                log.exception("usage sender failed")
            if stopping:
                return

    def _send_ready(self, force: bool) -> None:
        with self._send_lock:
            while (items := self._take(force)) is not None:
                if not self._deliver(items):
                    return  # nowhere to put a failed batch: it is queued again, try next round

    def _take(self, force: bool) -> list[_Item] | None:
        size = self.options.batch_size
        with self._cond:
            waiting = self._waiting()
            if waiting == 0 or (waiting < size and not force):
                return None
            items: list[_Item] = []
            while self._backlog and len(items) < size:
                items.append(self._backlog.popleft())
            while self._queue and len(items) < size:
                items.append(self._queue.popleft())
            self._cond.notify_all()  # room for a producer waiting on a full queue
            return items

    def _deliver(self, items: list[_Item]) -> bool:
        """Send one batch; False when it could be neither delivered nor spilled (queued again)."""
        if self._journal and self._live is not None:
            self._live.sync()  # what is sent is on disk first
        try:
            policy = self.options.closing_retry if self._stopping else self.options.retry_policy
            result = self._send([item.event for item in items], policy)
        except APIStatusError as error:
            return self._refused(items, error)
        except (APIConnectionError, OSError) as error:
            return self._spill(items, error)
        self.stats.batches += 1
        settled = _Settled()
        for item, outcome in zip(items, result.events, strict=False):
            if outcome.status == REJECTED:
                self._reject(item, outcome.reason or "REJECTED")
            settled.add(item)
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self._settle(settled)
        return True

    def _refused(self, items: list[_Item], error: APIStatusError) -> bool:
        """The whole batch answered with an error status (the retries are behind us)."""
        if error.status_code in SPILL_AT_ONCE or error.status_code == 429 or error.status_code >= 500:
            return self._spill(items, error)
        named = {int(m.group(1)) for d in error.details if (m := EVENT_INDEX.match(d.field))}
        if error.status_code == 400 and named and len(named) < len(items):
            bad = [item for i, item in enumerate(items) if i in named]
            good = [item for i, item in enumerate(items) if i not in named]
            for item in bad:
                self._reject(item, error.code)
            self._settle(_settled_of(bad))
            return self._deliver(good)
        for item in items:
            self._reject(item, error.code)
        self._settle(_settled_of(items))
        return True

    def _reject(self, item: _Item, reason: str) -> None:
        self.stats.rejected += 1
        try:
            self.options.on_rejected(item.event, reason)
        except Exception:
            log.exception("on_rejected callback failed")

    def _spill(self, items: list[_Item], error: Exception, requeue: deque[_Item] | None = None) -> bool:
        self.stats.failures += 1
        store = self._store
        try:
            if store is None:
                raise MeterplexError("usage tracker not started")
            store.spill(item.event for item in items)
        except (OSError, MeterplexError) as failure:
            # Nowhere to put them: keep them queued (at the front), loudly; the next round retries.
            log.error("could not spill %d usage events (%s); they stay queued", len(items), failure)
            with self._cond:
                (self._backlog if requeue is None else requeue).extendleft(reversed(items))
            self._notify_error(error, 0)
            return False
        self.stats.spilled += len(items)
        self._settle(_settled_of(items))
        self._notify_error(error, len(items))
        return True

    def _notify_error(self, error: Exception, spilled: int) -> None:
        try:
            self.options.on_error(error, spilled)
        except Exception:
            log.exception("on_error callback failed")

    def _settle(self, settled: _Settled) -> None:
        for segment, ids in settled.ids_by_segment.values():
            segment.ack(ids)
        with self._cond:
            self._adopted = [s for s in self._adopted if not (s.sealed and s.pending <= 0)]
            self._cond.notify_all()

    # ------------------------------------------------------------------ journal and recovery
    def _live_segment(self) -> Segment | None:
        """The segment `track()` appends to (called with the condition held)."""
        if self._store is None:
            return None
        if self._live is None or self._live_count >= self.options.segment_max_events:
            if self._live is not None:
                self._live.seal()
            try:
                self._live = self._store.open_live()
            except OSError as error:
                log.error("usage journal unavailable (%s): events are kept in memory only", error)
                self._journal = False
                return None
            self._live_count = 0
        self._live_count += 1
        return self._live

    def _redrive(self, force: bool) -> int:
        """Adopt orphaned segments (one at a time) into the backlog; returns the events queued."""
        now = time.monotonic()
        if self._store is None or (not force and now - self._last_redrive < self.options.redrive_interval_s):
            return 0
        self._last_redrive = now
        queued = 0
        for segment, events in self._store.orphans():
            with self._cond:
                self._adopted.append(segment)
                self._backlog.extend(_Item(event, segment) for event in events)
            queued += len(events)
            self.stats.resent += len(events)
            if queued >= self.options.max_queue:
                break
        if queued:
            log.info("re-sending %d usage events recovered from disk", queued)
        return queued


def _settled_of(items: list[_Item]) -> _Settled:
    settled = _Settled()
    for item in items:
        settled.add(item)
    return settled


_open_trackers: weakref.WeakSet[UsageTracker] = weakref.WeakSet()


def _close_at_exit(tracker: UsageTracker) -> None:
    if not _open_trackers:
        atexit.register(_close_all)
    _open_trackers.add(tracker)


def _close_all() -> None:
    for tracker in list(_open_trackers):
        with contextlib.suppress(Exception):  # at exit, the journal keeps what could not be sent
            tracker.close(timeout_s=5.0)


def default_spill_root() -> Path:
    """`MP_SPILL_DIR`, else `$XDG_CACHE_HOME/meterplex` (or `~/.cache/meterplex`), else temp."""
    configured = os.environ.get("MP_SPILL_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidate = Path(cache) / "meterplex" / "usage"
    try:
        candidate.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.access(candidate, os.W_OK):
            return candidate
    except OSError:
        pass
    import tempfile

    return Path(tempfile.gettempdir()) / f"meterplex-usage-{os.getuid() if hasattr(os, 'getuid') else 0}"


def spill_dir_for(root: Path, api_key: str) -> Path:
    """One directory per API key (a key belongs to one tenant of one deployment): re-sent events
    go to the tenant they were tracked for, whatever URL or proxy reaches it then."""
    import hashlib

    return root / hashlib.sha256(api_key.encode()).hexdigest()[:16]
