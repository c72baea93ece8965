"""Past the hot-key ceiling (ADR 0071): what one execution environment keeps to consume a grant
switched to the high-throughput path without writing its one item for every consume.

* **HARD limits — leases.** The environment reserves a block of units with ONE consume of the
  block on the grant (the usual `room ≥ block` condition, so `used` never exceeds `limit`), spends
  it locally, and gives back what it did not spend when the lease is renewed or grows old. Units
  of a lease count as used from the moment they are reserved: an environment that dies keeps at
  most one block unusable until the window ends, never more than the limit. Blocks shrink as the
  room does, and a consume that cannot get a block larger than itself takes the single-item path,
  so refusals near the limit stay exact.
* **SOFT/METERED — sharded counters.** A consume adds its units to one of `COUNTER_SHARDS` items
  of the window (ONE UpdateItem, a random shard): each is its own partition. Every reader of the
  window's units reads the grant and all the shards (`check` and billing's `UsageCounters.used`
  as one TransactGetItems snapshot). The consume's answer reports `used` from this environment's
  view of the other shards, refreshed at most `VIEW_S` apart (see ADR 0071: an exact total in
  every answer would read every shard on every consume — the ceiling again).

The grant read the environment relies on is at most `VIEW_S` old (refreshed by a consume on the
grant itself); what it checks (in plan, not ended, not BOOLEAN, not UNPAID — ADR 0060) is
re-checked from a fresh read then, and a consume it cannot serve here goes the single-item path,
which answers exactly.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from meterplex.entitlements.grants import BOOLEAN, ConsumeRejected, Grant, consume_answer
from meterplex.entitlements.keys import COUNTER_SHARDS
from meterplex.platform.clock import iso

LEASE_BLOCK = 100  # units reserved per lease at most
LEASE_SHARE = 16  # a lease takes at most this fraction of the room left (blocks shrink near the limit)
LEASE_TTL_S = 5.0  # a lease older than this is given back and renewed
VIEW_S = 1.0  # how old the grant (and the shards' view) an environment relies on may be
MAX_KNOWN = 10_000  # grants remembered per environment


class ShardStore(Protocol):
    def add_usage(self, tenant_id: str, feature_key: str, amount: int, now: datetime) -> Grant: ...
    def add_to_shard(self, grant: Grant, window_start: str, shard: int, amount: int) -> int: ...
    def with_shards(self, grant: Grant, window_start: str) -> tuple[Grant | None, list[int]]: ...
    def give_back(self, grant: Grant, amount: int) -> bool: ...


@dataclass
class Lease:
    grant: Grant  # as the lease's write returned it (its window and subscription)
    unspent: int
    taken_at: float


@dataclass
class ShardView:
    window_start: str
    counts: list[int] = field(default_factory=lambda: [0] * COUNTER_SHARDS)
    grant_used: int = 0
    read_at: float = float("-inf")


class HighThroughput:
    """The high-throughput state of ONE execution environment (module-level in the function)."""

    def __init__(self, store: ShardStore, monotonic: Any = None, rng: random.Random | None = None) -> None:
        import time

        self._store = store
        self._monotonic = monotonic or time.monotonic
        self._rng = rng or random.Random()  # noqa: S311 (spreading writes, not a secret)
        self._lock = threading.Lock()  # an environment serves one event at a time; tests share one
        self._known: dict[tuple[str, str], tuple[Grant, float]] = {}
        self._leases: dict[tuple[str, str], Lease] = {}
        self._views: dict[tuple[str, str], ShardView] = {}

    # -- which grants are high-throughput -----------------------------------------------------
    def remember(self, grant: Grant) -> None:
        """A grant as a write or a read just returned it."""
        key = (grant.tenant_id, grant.feature_key)
        with self._lock:
            if not grant.high_throughput:
                self._known.pop(key, None)
                return
            if len(self._known) >= MAX_KNOWN:
                self._known.clear()
            self._known[key] = (grant, self._monotonic())

    def known(self, tenant_id: str, feature_key: str) -> Grant | None:
        """The grant if it is high-throughput and was read at most VIEW_S ago."""
        with self._lock:
            entry = self._known.get((tenant_id, feature_key))
        if entry is None or self._monotonic() - entry[1] > VIEW_S:
            return None
        return entry[0]

    # -- consume ------------------------------------------------------------------------------
    def consume(self, grant: Grant, amount: int, now: datetime) -> dict[str, Any] | None:
        """The answer, or None: take the single-item path (it reads, refuses or rolls exactly)."""
        if grant.ended(now) or grant.feature_type == BOOLEAN or grant.blocked_by_payment:
            return None  # the single path refuses exactly (UNPAID: 402, ADR 0060)
        start, _ = grant.current_window(now)
        if grant.window_start != iso(start):
            return None  # the stored window is closed: the single path rolls it
        if grant.is_hard:
            return self._from_lease(grant, amount, now)
        return self._on_shard(grant, amount, iso(start))

    def _from_lease(self, grant: Grant, amount: int, now: datetime) -> dict[str, Any] | None:
        key = (grant.tenant_id, grant.feature_key)
        with self._lock:
            lease = self._leases.get(key)
            fresh = (
                lease is not None
                and (lease.grant.subscription_id, lease.grant.window_start)
                == (grant.subscription_id, grant.window_start)
                and self._monotonic() - lease.taken_at <= LEASE_TTL_S
            )
            if lease is not None and fresh and lease.unspent >= amount:
                lease.unspent -= amount
                used = lease.grant.used - lease.unspent
                return consume_answer(replace(lease.grant, used=used), grant.feature_key, amount)
            self._leases.pop(key, None)
        if lease is not None and lease.unspent:
            self._store.give_back(lease.grant, lease.unspent)
        block = max(amount, min(LEASE_BLOCK, grant.room // LEASE_SHARE))
        if block == amount:
            return None  # near the limit: one exact conditional write of `amount` itself
        try:
            after = self._store.add_usage(grant.tenant_id, grant.feature_key, block, now)
        except ConsumeRejected as rejected:
            if rejected.grant is not None:
                self.remember(rejected.grant)
            return None  # the room is smaller than the block: the single path decides exactly
        self.remember(after)
        with self._lock:
            self._leases[key] = Lease(after, block - amount, self._monotonic())
        return consume_answer(replace(after, used=after.used - (block - amount)), grant.feature_key, amount)

    def _on_shard(self, grant: Grant, amount: int, window_start: str) -> dict[str, Any]:
        key = (grant.tenant_id, grant.feature_key)
        shard = self._rng.randrange(COUNTER_SHARDS)
        units = self._store.add_to_shard(grant, window_start, shard, amount)
        with self._lock:
            view = self._views.get(key)
            stale = view is None or view.window_start != window_start
            old = view is None or self._monotonic() - view.read_at > VIEW_S
        if stale or old:
            fresh, counts = self._store.with_shards(grant, window_start)
            view = ShardView(window_start, counts, fresh.used if fresh else 0, self._monotonic())
            if fresh is not None:
                self.remember(fresh)
            with self._lock:
                self._views[key] = view
        assert view is not None
        with self._lock:
            view.counts[shard] = max(view.counts[shard], units)
            used = view.grant_used + sum(view.counts)
        return consume_answer(replace(grant, used=used), grant.feature_key, amount)

    def give_back_all(self) -> None:
        """Return every lease's unspent units (an environment shutting down, tests)."""
        with self._lock:
            leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            if lease.unspent:
                self._store.give_back(lease.grant, lease.unspent)
