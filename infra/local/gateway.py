"""API Gateway, locally: the topology's routes over HTTP, the REQUEST authorizer, proxy mapping.

`Gateway.handle` is the whole behaviour (pure: request in, response out, functions invoked through
`invoke`); `GatewayServer` only puts it behind a threading HTTP server.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from infra.local.api_events import (
    PROXY_RESOURCE,
    HttpRequest,
    HttpResponse,
    authorizer_event,
    http_response,
    proxy_event,
)
from infra.local.net import LOCALHOST, PortInUse
from infra.local.routing import match_route
from meterplex.platform.errors import envelope
from meterplex.platform.settings import AuthorizerCacheSettings

log = logging.getLogger("localcloud.gateway")

AUTHORIZER_FUNCTION = "authorizer"
CORRELATION_HEADER = "x-correlation-id"
PUBLIC = "public"
UNAUTHORIZED = "Unauthorized"

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class AuthDecision:
    allowed: bool
    context: dict[str, Any] | None = None
    status: int = 200
    code: str = ""
    message: str = ""


def policy_allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM evaluation of the authorizer's policy for this method: an explicit Deny wins."""
    allowed = False
    for statement in (policy.get("policyDocument") or {}).get("Statement") or []:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


_UNAUTHENTICATED = AuthDecision(False, status=401, code="UNAUTHORIZED", message="Unauthorized")
_DENIED = AuthDecision(
    False, status=403, code="ACCESS_DENIED", message="User is not authorized to access this resource"
)
_AUTHORIZER_FAILED = AuthDecision(False, status=500, code="AUTHORIZER_ERROR", message="Internal server error")


class AuthorizerCache:
    """API Gateway caches an authorizer's policy per identity source (the token) for a TTL."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        if self.ttl_s <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < self._clock():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: str, policy: dict[str, Any]) -> None:
        if self.ttl_s > 0:
            with self._lock:
                self._entries[key] = (self._clock() + self.ttl_s, policy)


class Gateway:
    def __init__(
        self,
        routes: Any,
        invoke: Invoke,
        *,
        fallback_function: str,
        authorizer_function: str = AUTHORIZER_FUNCTION,
        cache_ttl_s: float | None = None,
    ) -> None:
        self.routes = tuple(routes)
        self.invoke = invoke
        self.fallback_function = fallback_function
        self.authorizer_function = authorizer_function
        ttl = (
            AuthorizerCacheSettings.from_env().authorizer_cache_ttl_s if cache_ttl_s is None else cache_ttl_s
        )
        self.cache = AuthorizerCache(ttl)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        headers = {k.lower(): v for k, v in request.headers}
        correlation_id = headers.get(CORRELATION_HEADER) or request_id
        found = match_route(self.routes, request.method, request.path)
        if found is None:
            function = self.fallback_function
            resource, params, auth = PROXY_RESOURCE, {"proxy": request.path.lstrip("/")}, PUBLIC
        else:
            function, resource = found.route.function, found.route.path
            params, auth = found.path_parameters, str(found.route.auth)
        event = proxy_event(request, resource, params, request_id=request_id)
        if auth != PUBLIC:
            decision = self._authorize(event, headers.get("authorization", ""))
            if not decision.allowed:
                return self._error(decision.status, decision.code, decision.message, correlation_id, request)
            event["requestContext"]["authorizer"] = decision.context
        try:
            result = self.invoke(function, event)
            return http_response(result)
        except Exception:
            log.exception("function %s failed; answering 502 like API Gateway", function)
            return self._error(502, "INTERNAL_ERROR", "Internal server error", correlation_id, request)

    def _authorize(self, event: dict[str, Any], token: str) -> AuthDecision:
        auth_event = authorizer_event(event)
        policy = self.cache.get(token) if token else None
        if policy is None:
            try:
                policy = self.invoke(self.authorizer_function, auth_event)
            except Exception as error:
                if str(error) == UNAUTHORIZED:
                    return _UNAUTHENTICATED
                log.exception("authorizer failed")
                return _AUTHORIZER_FAILED
            if not isinstance(policy, dict):
                return _AUTHORIZER_FAILED
            if token:
                self.cache.put(token, policy)
        if not policy_allows(policy, auth_event["methodArn"]):
            return _DENIED
        context = {**(policy.get("context") or {}), "principalId": policy.get("principalId")}
        return AuthDecision(True, context=context)

    def _error(
        self, status: int, code: str, message: str, correlation_id: str, request: HttpRequest
    ) -> HttpResponse:
        now = datetime.now(UTC)
        body = envelope(
            status, code, message, correlation_id=correlation_id, path=request.path, timestamp=now
        )
        return HttpResponse(
            status,
            [("Content-Type", "application/json"), (CORRELATION_HEADER, correlation_id)],
            json.dumps(body).encode("utf-8"),
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            source_ip=self.client_address[0],
        )
        response = self.server.gateway.handle(request)
        self.send_response(response.status)
        skip = {"content-length", "connection", "transfer-encoding"}
        for name, value in response.headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway


class GatewayServer:
    """`gateway` on http://127.0.0.1:<port>, served from a background thread."""

    def __init__(self, gateway: Gateway, port: int, host: str = LOCALHOST) -> None:
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as error:
            raise PortInUse(port, "PORT") from error
        self._server.gateway = gateway
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
