"""Waiting for asynchronous effects (pollers, consumers) with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

TIMEOUT_S = 15


def wait_for(condition: Callable[[], bool], timeout: float = TIMEOUT_S, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def flat(batches: list[list[str]]) -> list[str]:
    return [item for batch in batches for item in batch]
