"""Identifiers: time-sortable UUIDv7 strings (RFC 9562), monotonic within a process.

Ids minted in the same millisecond still sort in creation order: the 12-bit `rand_a` field is a
counter seeded randomly each millisecond (RFC 9562 §6.2, method 1).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = -1
_counter = 0
_COUNTER_MAX = (1 << 12) - 1


def _next_stamp() -> tuple[int, int]:
    global _last_ms, _counter
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last_ms:
            _last_ms, _counter = millis, secrets.randbits(11)  # leave headroom for increments
        elif _counter < _COUNTER_MAX:
            _counter += 1
        else:  # 2,048+ ids in one millisecond: borrow the next millisecond
            _last_ms, _counter = _last_ms + 1, 0
        return _last_ms, _counter


def new_id() -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, a 12-bit sequence, then 62 random bits."""
    millis, sequence = _next_stamp()
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= sequence << 64
    value |= 0b10 << 62  # variant
    value |= secrets.randbits(62)
    return str(uuid.UUID(int=value))


def minted_at_ms(id_: str) -> int | None:
    """The Unix milliseconds (real time) a `new_id()` was minted at; None for any other string."""
    try:
        value = uuid.UUID(id_)
    except ValueError:
        return None
    return value.int >> 80 if value.version == 7 else None
