"""API Gateway, locally: the topology's routes over HTTP, the REQUEST authorizer, proxy mapping.

`Gateway.handle` is the whole behaviour (pure: request in, response out, functions invoked through
`invoke`); `GatewayServer` only puts it behind a threading HTTP server, which reads bodies as API
Gateway does (Content-Length or chunked, at most 10 MB) and answers every error it makes itself —
a bad request line, a bad Content-Length, an unknown verb — with the envelope, never HTML.
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
from meterplex.platform.limits import is_correlation_id
from meterplex.platform.settings import AuthorizerCacheSettings

log = logging.getLogger("localcloud.gateway")

AUTHORIZER_FUNCTION = "authorizer"
CORRELATION_HEADER = "x-correlation-id"
PUBLIC = "public"
UNAUTHORIZED = "Unauthorized"

Invoke = Callable[[str, dict[str, Any]], Any]

# What a REST API's `ANY` covers. Another verb (TRACE, CONNECT, PROPFIND…) matches no method, and
# API Gateway answers its MISSING_AUTHENTICATION_TOKEN gateway response, which our stack maps to
# the 404 envelope (infra/constructs/api.py); the request never reaches a function.
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota (REQUEST_TOO_LARGE → 413)


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
        local_routes: Mapping[str, Callable[[], HttpResponse]] | None = None,
    ) -> None:
        self.routes = tuple(routes)
        self.local_routes = dict(local_routes or {})  # GET paths the local cloud answers itself
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
        correlation_id = correlation_id_for(headers.get(CORRELATION_HEADER), request_id)
        if request.method not in API_GATEWAY_METHODS:
            return self.error(404, "NOT_FOUND", "Missing Authentication Token", correlation_id, request)
        if len(request.body) > MAX_BODY_BYTES:
            return self.error(413, "PAYLOAD_TOO_LARGE", "Request Too Long", correlation_id, request)
        local = self.local_routes.get(request.path) if request.method == "GET" else None
        if local is not None:
            return local()
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
                return self.error(decision.status, decision.code, decision.message, correlation_id, request)
            event["requestContext"]["authorizer"] = decision.context
        try:
            result = self.invoke(function, event)
            return http_response(result)
        except Exception:
            log.exception("function %s failed; answering 502 like API Gateway", function)
            return self.error(502, "INTERNAL_ERROR", "Internal server error", correlation_id, request)

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

    @staticmethod
    def error(
        status: int, code: str, message: str, correlation_id: str, request: HttpRequest
    ) -> HttpResponse:
        """An error API Gateway makes itself (a gateway response), in the project's envelope."""
        now = datetime.now(UTC)
        body = envelope(
            status, code, message, correlation_id=correlation_id, path=request.path, timestamp=now
        )
        return HttpResponse(
            status,
            [("Content-Type", "application/json"), (CORRELATION_HEADER, correlation_id)],
            json.dumps(body).encode("utf-8"),
        )


def correlation_id_for(sent: str | None, request_id: str) -> str:
    """The caller's correlation id when valid (SPEC §0), else the request id."""
    return sent if sent is not None and is_correlation_id(sent) else request_id


class BodyRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def read_body(headers: Mapping[str, str], stream: Any, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body as API Gateway reads it: chunked or Content-Length, at most `limit` bytes.

    `headers` maps lower-case names to values (repeated Content-Length values joined by ", ")."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _read_chunked(stream, limit)
    declared = headers.get("content-length")
    if declared is None:
        return b""
    values = {v.strip() for v in declared.split(",")}
    value = values.pop() if len(values) == 1 else ""
    if not (value.isascii() and value.isdigit()):
        raise BodyRejected(400, "BAD_REQUEST", f"Invalid Content-Length: {declared[:40]!r}")
    length = int(value)
    if length > limit:
        raise BodyRejected(413, "PAYLOAD_TOO_LARGE", "Request Too Long")
    return bytes(stream.read(length)) if length else b""


def _read_chunked(stream: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_text = stream.readline(1026).split(b";", 1)[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise BodyRejected(400, "BAD_REQUEST", "Invalid chunked body")
        size = int(size_text, 16)
        if size == 0:
            while stream.readline(1026).strip():  # trailers, up to the empty line
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise BodyRejected(413, "PAYLOAD_TOO_LARGE", "Request Too Long")
        chunk = stream.read(size)
        if len(chunk) != size or stream.readline(3).strip():
            raise BodyRejected(400, "BAD_REQUEST", "Invalid chunked body")
        body += chunk


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: with keep-alive, Nagle's algorithm holds the body until the
    # client ACKs the headers, which its delayed ACK postpones ~40 ms — per request (ADR 0072).
    disable_nagle_algorithm = True

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler answers a verb without a do_<VERB> with a 501 HTML page; every
        # verb reaches the gateway instead, which answers as API Gateway would.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _request(self, body: bytes = b"") -> HttpRequest:
        url = urlsplit(self.path)
        return HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )

    def _serve(self) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            body = read_body(headers, self.rfile)
        except BodyRejected as rejected:
            # The rest of the body is unread: answer, then close the connection.
            self.close_connection = True
            correlation_id = correlation_id_for(headers.get(CORRELATION_HEADER), str(uuid.uuid4()))
            request = self._request()
            self._send(
                Gateway.error(rejected.status, rejected.code, rejected.message, correlation_id, request)
            )
            return
        self._send(self.server.gateway.handle(self._request(body)))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors http.server makes itself (a malformed request line, headers too long…): the
        envelope, like every other error."""
        self.close_connection = True
        self.request_version = self.protocol_version  # a line that did not parse has none: answer 1.1
        path = urlsplit(getattr(self, "path", "") or "/").path or "/"
        request = HttpRequest(method=getattr(self, "command", None) or "GET", path=path)
        self._send(Gateway.error(code, "BAD_REQUEST", message or "Bad request", str(uuid.uuid4()), request))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        skip = {"content-length", "connection", "transfer-encoding"}
        for name, value in response.headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

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
