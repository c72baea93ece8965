"""SDK unit tests: no sockets (pytest-socket); HTTP is answered by respx, time by fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_socket import disable_socket, enable_socket

from meterplex_client import Meterplex, RetryPolicy, UsageOptions

BASE = "https://api.meterplex.test"
KEY = "mp_live_unit_test_key"


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


class Sleeps(list[float]):
    """Records the driver's back-off sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(
    tmp_path: Path, *, usage: UsageOptions | None = None, **kwargs: Any
) -> tuple[Meterplex, Sleeps]:
    usage = usage or UsageOptions(spill_dir=tmp_path / "spill", background=False)
    mp = Meterplex(api_key=KEY, base_url=BASE, usage=usage, **kwargs)
    mp.session.retry = RetryPolicy(max_retries=kwargs.get("max_retries", 3), rng=lambda: 1.0)
    sleeps = Sleeps()
    mp._driver.sleep = sleeps
    return mp, sleeps


def envelope(status: int, code: str, message: str = "no", **extra: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "error": "Error",
        "code": code,
        "message": message,
        "correlationId": "corr-123",
        "timestamp": "2026-12-01T00:00:00Z",
        "path": "/api/v1/x",
        **extra,
    }


def usage_answer(events: list[dict[str, Any]], status: str = "accepted") -> dict[str, Any]:
    return {
        "accepted": len(events) if status == "accepted" else 0,
        "duplicates": len(events) if status == "duplicate" else 0,
        "rejected": 0,
        "events": [{"eventId": e["eventId"], "status": status} for e in events],
    }


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # async tests run with anyio's pytest plugin (anyio comes with httpx)
