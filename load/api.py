"""The runner's HTTP client: one `requests.Session` per thread, every answer checked, and a thread
pool for the per-tenant set-up and reads (the local cloud serves requests in parallel)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import requests

from infra.local.replies import ok

TIMEOUT_S = 60
RATE_LIMITED_TRIES = 20
REFRESH_AFTER_S = 600  # access tokens live 15 min
PARALLEL = 8

T = TypeVar("T")
R = TypeVar("R")


class Api:
    def __init__(self, url: str) -> None:
        self.url = url  # ends with /api/v1
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def call(
        self, method: str, path: str, headers: dict[str, str], timeout: float = TIMEOUT_S, **kwargs: Any
    ) -> requests.Response:
        """One request; a 429 (login and register are rate-limited) is waited out as its
        `Retry-After` says, as a well-behaved client does."""
        for _ in range(RATE_LIMITED_TRIES):
            reply = self._session().request(
                method, f"{self.url}{path}", headers=headers, timeout=timeout, **kwargs
            )
            if reply.status_code != 429:
                break
            time.sleep(float(reply.headers.get("retry-after") or 1))
        return reply

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        return ok(self.call("GET", path, headers, params=params))

    def post(self, path: str, headers: dict[str, str], body: Any = None) -> Any:
        return ok(self.call("POST", path, headers, json=body))


class Login:
    """An account's access token, logged in again before it expires (15 min; a run is longer)."""

    def __init__(self, api: Api, email: str, password: str) -> None:
        self.api, self.email, self._password = api, email, password
        self._token, self._at = "", -float(REFRESH_AFTER_S)

    def token(self) -> str:
        if time.monotonic() - self._at > REFRESH_AFTER_S:
            body = {"email": self.email, "password": self._password}
            self._token, self._at = (
                str(self.api.post("/auth/login", {}, body)["accessToken"]),
                time.monotonic(),
            )
        return self._token

    def headers(self, tenant_id: str | None = None) -> dict[str, str]:
        return bearer(self.token(), tenant_id)


def in_parallel(work: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`work` over `items` on PARALLEL threads, results in order. The first failure (or a stop
    signal) is raised at once: the items not yet started are cancelled, not run."""
    pool = ThreadPoolExecutor(PARALLEL)
    try:
        return list(pool.map(work, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def bearer(token: str, tenant_id: str | None = None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {token}"}
    return headers | ({"x-tenant-id": tenant_id} if tenant_id else {})
