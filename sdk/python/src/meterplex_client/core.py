"""What every resource of one client shares: the session, the driver, the cache, the tracker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from meterplex_client.cache import EntitlementCache
from meterplex_client.errors import MeterplexError
from meterplex_client.transport import RetryPolicy, Session, SyncDriver, decoded
from meterplex_client.usage.journal import Event
from meterplex_client.usage.tracker import UsageOptions, UsageTracker, default_spill_root, spill_dir_for

FailMode = Literal["raise", "open", "closed"]


class ClientCore:
    def __init__(
        self,
        session: Session,
        run: Callable[[Any], Any],
        *,
        sync_driver: Callable[[], SyncDriver],
        cache: EntitlementCache | None,
        fail_mode: FailMode,
        usage: UsageOptions,
        blocking_track: bool,
    ) -> None:
        self.session = session
        self.run = run
        self.cache = cache
        self.fail_mode = fail_mode
        self.usage_options = usage
        self.blocking_track = blocking_track
        self._sync_driver = sync_driver
        self._tracker: UsageTracker | None = None
        self._lock = threading.Lock()

    def tracker(self) -> UsageTracker:
        if self._tracker is None:
            with self._lock:
                if self._tracker is None:
                    self._tracker = self._new_tracker()
        return self._tracker

    def close_tracker(self, timeout_s: float = 10.0) -> None:
        if self._tracker is not None:
            self._tracker.close(timeout_s)

    def _new_tracker(self) -> UsageTracker:
        from meterplex_client.models.usage import UsageBatchResult
        from meterplex_client.resources.usage import send_call

        api_key = self.session.api_key
        if not api_key:
            raise MeterplexError("usage events are sent with an API key: pass api_key= or set MP_API_KEY")
        options = self.usage_options
        driver = self._sync_driver()

        def send(events: list[Event], policy: RetryPolicy) -> UsageBatchResult:
            call = send_call(events, retry=policy)
            result: UsageBatchResult = driver.run(decoded(self.session, call, UsageBatchResult))
            return result

        root = default_spill_root() if options.spill_dir is None else Path(options.spill_dir)
        return UsageTracker(options, send, spill_dir_for(root, api_key))
