"""The optional entitlement cache: per feature, TTL-bounded, never used by `consume` (ADR 0057).

BOOLEAN and UNKNOWN answers are kept as they are. For QUOTA and METERED the cache keeps the
feature's state and answers a check of any `amount` with the server's own rule; a consume's answer
refreshes the state. An entry is never served after its TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from meterplex_client.models.entitlements import METERED, QUOTA, ConsumeResult, EntitlementCheck

SOFT = "SOFT"


@dataclass
class EntitlementCache:
    """`ttl_s` for every feature (None: only the features listed), `features` per feature
    (seconds; 0 turns caching off for that feature). At most `max_entries` features are kept."""

    ttl_s: float | None = None
    features: Mapping[str, float] = field(default_factory=dict)
    max_entries: int = 1024
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[str, tuple[float, EntitlementCheck]] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ttl_of(self, feature: str) -> float:
        return float(self.features.get(feature, self.ttl_s or 0.0))

    def get(self, feature: str, amount: int = 1) -> EntitlementCheck | None:
        """The cached answer for a check of `amount`, or None (absent or expired)."""
        with self._lock:
            entry = self._entries.get(feature)
            if entry is None:
                return None
            expires, state = entry
            if self.clock() >= expires:
                del self._entries[feature]
                return None
        return _answer(state, amount)

    def put(self, answer: EntitlementCheck) -> None:
        ttl = self.ttl_of(answer.feature)
        if ttl <= 0 or answer.degraded:
            return
        with self._lock:
            self._entries[answer.feature] = (self.clock() + ttl, answer)
            self._entries.move_to_end(answer.feature)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def consumed(self, result: ConsumeResult) -> None:
        """A consume's answer is fresher than the cached state: take its `used`/`remaining`."""
        with self._lock:
            entry = self._entries.get(result.feature)
            if entry is None or result.used is None:
                return
            expires, state = entry
            update: dict[str, int | None] = {"used": result.used}
            if state.type == QUOTA:
                update["remaining"] = result.remaining
            elif state.type == METERED:
                update["overage"] = max(0, result.used - (state.included_amount or 0))
            self._entries[result.feature] = (expires, state.model_copy(update=update))

    def invalidate(self, feature: str | None = None) -> None:
        with self._lock:
            if feature is None:
                self._entries.clear()
            else:
                self._entries.pop(feature, None)


def _answer(state: EntitlementCheck, amount: int) -> EntitlementCheck:
    """SPEC §5's rule on cached state: QUOTA allowed iff SOFT or used + amount ≤ limit; BOOLEAN,
    METERED (always allowed) and UNKNOWN answers do not depend on `amount`."""
    update: dict[str, object] = {"cached": True}
    if state.type == QUOTA:
        used, limit = state.used or 0, state.limit or 0
        update["allowed"] = state.limit_behavior == SOFT or used + amount <= limit
    return state.model_copy(update=update)
