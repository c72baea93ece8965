"""Sans-IO requests: every operation is a program (a generator) that yields effects; drivers run it.

A program yields `Send(request)` and receives the `httpx.Response` (or has the transport error
thrown into it), yields `Sleep(seconds)` to back off, or `Offload(fn)` to run blocking local work.
`SyncDriver` runs programs with `httpx.Client`, `AsyncDriver` with `httpx.AsyncClient`: retries,
token refresh, caching and fail-open/closed are written once, for both clients (ADR 0055).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from meterplex_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    retry_after_s,
)

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CORRELATION_HEADER = "x-correlation-id"
TENANT_HEADER = "x-tenant-id"


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Offload:
    """Blocking local work (a flush): inline in the sync driver, in a worker thread in the async one."""

    work: Callable[[], Any]


Effect = Send | Sleep | Offload
Program = Generator[Effect, Any, T]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; at least the server's `Retry-After` (ADR 0055)."""

    max_retries: int = 3
    base_s: float = 0.5
    cap_s: float = 30.0
    max_retry_after_s: float = 300.0
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        jittered = self.rng() * min(self.cap_s, self.base_s * float(2**attempt))
        if retry_after is None:
            return jittered
        return max(min(retry_after, self.max_retry_after_s), jittered)


@dataclass(frozen=True)
class Call:
    """One API request, before authentication and the base URL are applied."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    idempotent: bool | None = None  # default: by method (GET/DELETE/PUT yes, POST/PATCH no)
    authenticated: bool = True
    retry: RetryPolicy | None = None  # default: the client's

    @property
    def is_idempotent(self) -> bool:
        return self.idempotent if self.idempotent is not None else self.method in IDEMPOTENT_METHODS


def path_of(template: str, *values: str) -> str:
    """Fill a template's `{placeholders}` in order, each value quoted as one path segment."""
    out, rest = "", template
    for value in values:
        start = rest.index("{")
        end = rest.index("}", start)
        out += rest[:start] + quote(str(value), safe="")
        rest = rest[end + 1 :]
    if "{" in rest:
        raise ValueError(f"missing path values for {template}")
    return out + rest


def body_of(value: Any) -> Any:
    """A request model (or a plain value) as the JSON the API expects: camelCase, no None fields."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    return value


def _retryable_error(error: httpx.TransportError, idempotent: bool) -> bool:
    # A request that never reached the server is always safe to resend.
    return idempotent or isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def _connection_error(error: httpx.TransportError) -> APIConnectionError:
    request = getattr(error, "_request", None)
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"the API did not answer in time: {error}", request=request)
    return APIConnectionError(f"could not reach the API: {error!r}", request=request)


class Session:
    """Where and as whom the client talks: base URL, credentials, timeouts, the retry policy.

    Shared by the sync and async clients; credentials change on login and refresh (rotation).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        tenant_id: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str = "meterplex-client",
        on_tokens: Callable[[str, str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.tenant_id = tenant_id
        self.timeout = httpx.Timeout(timeout_s)
        self.retry = retry or RetryPolicy()
        self.user_agent = user_agent
        self.on_tokens = on_tokens

    def use_tokens(self, access_token: str, refresh_token: str) -> None:
        self.access_token, self.refresh_token = access_token, refresh_token
        if self.on_tokens is not None:
            self.on_tokens(access_token, refresh_token)

    @property
    def can_refresh(self) -> bool:
        return self.api_key is None and bool(self.refresh_token)

    def build(self, call: Call) -> httpx.Request:
        headers = {"user-agent": self.user_agent, "accept": "application/json"}
        if call.authenticated:
            bearer = self.api_key or self.access_token
            if bearer:
                headers["authorization"] = f"Bearer {bearer}"
            if self.api_key is None and self.tenant_id:
                headers[TENANT_HEADER] = self.tenant_id
        params = {k: v for k, v in (call.params or {}).items() if v is not None}
        body = body_of(call.json)
        return httpx.Request(
            call.method,
            self.base_url + call.path,
            params=params or None,
            json=body,
            headers=headers,
            extensions={"timeout": self.timeout.as_dict()},
        )


def exchange(session: Session, call: Call) -> Program[httpx.Response]:
    """Send `call` with retries (ADR 0055) and one token refresh on 401; raise the typed error."""
    policy = call.retry or session.retry
    refreshed = False
    attempt = 0
    while True:
        request = session.build(call)
        try:
            response: httpx.Response = yield Send(request)
        except httpx.TransportError as error:
            if attempt < policy.max_retries and _retryable_error(error, call.is_idempotent):
                yield Sleep(policy.delay(attempt))
                attempt += 1
                continue
            raise _connection_error(error) from error
        status = response.status_code
        if status == 401 and call.authenticated and not refreshed and session.can_refresh:
            refreshed = True
            yield from refresh_session(session)
            continue
        retry_ok = status == 429 or call.is_idempotent
        if status in RETRY_STATUSES and retry_ok and attempt < policy.max_retries:
            yield Sleep(policy.delay(attempt, retry_after_s(response.headers)))
            attempt += 1
            continue
        if status >= 400:
            raise APIStatusError.from_response(response)
        return response


def refresh_session(session: Session) -> Program[None]:
    """POST /auth/refresh with the session's refresh token; store the rotated pair."""
    call = Call(
        "POST", "/api/v1/auth/refresh", json={"refreshToken": session.refresh_token}, authenticated=False
    )
    response = yield from exchange(session, call)
    pair = response.json()
    session.use_tokens(pair["accessToken"], pair["refreshToken"])


def decoded(session: Session, call: Call, response_type: Any) -> Program[Any]:
    """`exchange`, then the body validated as `response_type` (a model, a union, or None)."""
    response = yield from exchange(session, call)
    if response_type is type(None):
        return None
    return adapter(response_type).validate_python(response.json())


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def adapter(response_type: Any) -> TypeAdapter[Any]:
    found = _ADAPTERS.get(response_type)
    if found is None:
        found = _ADAPTERS[response_type] = TypeAdapter(response_type)
    return found


@dataclass(frozen=True)
class Done:
    value: Any


def advance(program: Program[Any], reply: Any, error: BaseException | None) -> Effect | Done:
    """Resume `program` with the last effect's outcome: its next effect, or its result."""
    try:
        return program.throw(error) if error is not None else program.send(reply)
    except StopIteration as stop:
        return Done(stop.value)


class SyncDriver:
    """Runs programs with blocking I/O."""

    def __init__(self, http: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> None:
        self.http = http
        self.sleep = sleep

    def run(self, program: Program[T]) -> T:
        step = advance(program, None, None)
        while not isinstance(step, Done):
            try:
                step = advance(program, self._perform(step), None)
            except httpx.TransportError as failure:
                step = advance(program, None, failure)
        return step.value  # type: ignore[no-any-return]

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            return self.http.send(effect.request)
        if isinstance(effect, Sleep):
            return self.sleep(effect.seconds)
        return effect.work()

    def close(self) -> None:
        self.http.close()


class AsyncDriver:
    """Runs programs on the event loop; blocking local work goes to a worker thread."""

    def __init__(self, http: httpx.AsyncClient, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.http = http
        self.sleep = sleep

    async def run(self, program: Program[T]) -> T:
        step = advance(program, None, None)
        while not isinstance(step, Done):
            try:
                step = advance(program, await self._perform(step), None)
            except httpx.TransportError as failure:
                step = advance(program, None, failure)
        return step.value  # type: ignore[no-any-return]

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            return await self.http.send(effect.request)
        if isinstance(effect, Sleep):
            return await self.sleep(effect.seconds)
        return await asyncio.to_thread(effect.work)

    async def close(self) -> None:
        await self.http.aclose()
