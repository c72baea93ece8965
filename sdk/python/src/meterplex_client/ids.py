"""UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, then random bits — unique and time-sortable.

Python 3.11–3.13 have no `uuid.uuid7`. Within one millisecond a 12-bit counter in `rand_a` keeps
the ids of this process increasing (RFC 9562 §6.2, method 1). The random bits come from the OS
(`os.urandom`), read 4 KiB at a time: `track()` is on the caller's hot path. A forked child drops
the parent's unread pool, so two processes never hand out the same bits.
"""

from __future__ import annotations

import os
import threading
import time

_POOL_BYTES = 4096
_lock = threading.Lock()
_last_ms = 0
_counter = 0
_pool = b""
_offset = 0


def _reset_after_fork() -> None:
    global _pool, _offset, _last_ms, _counter
    _pool, _offset, _last_ms, _counter = b"", 0, 0, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _random64() -> int:
    global _pool, _offset
    if _offset + 8 > len(_pool):
        _pool, _offset = os.urandom(_POOL_BYTES), 0
    value = int.from_bytes(_pool[_offset : _offset + 8])
    _offset += 8
    return value


def uuid7() -> str:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        rand = _random64()
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:  # 4,096 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms, _counter = ms, _random64() & 0x7FF  # a random start leaves room to count
        counter = _counter
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
