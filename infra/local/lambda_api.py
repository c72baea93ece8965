"""Lambda's Invoke API, locally: `POST /2015-03-31/functions/{name}/invocations` → `FunctionRunner`.

The local cloud points `AWS_ENDPOINT_URL_LAMBDA` here, so a function that invokes another (the test
clock's advance, ADR 0050) makes through botocore exactly the call it makes in AWS, and gets
Lambda's answers: the payload (200), `X-Amz-Function-Error: Unhandled` with `{errorMessage,
errorType, stackTrace}` when the function raised, 404 `ResourceNotFoundException` for an unknown
function, and 429 `TooManyRequestsException` when the function stayed busy for its whole timeout.
`InvocationType` `Event` (202, run in the background) and `DryRun` (204) are served too.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from infra.local.aws import ACCOUNT_ID, REGION
from infra.local.functions import FunctionBusy, FunctionRunner
from infra.local.net import LOCALHOST

log = logging.getLogger("localcloud.lambda")

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
ENDPOINT_ENV = "AWS_ENDPOINT_URL_LAMBDA"
LOCAL_PREFIX = "meterplex-local-"


@dataclass(frozen=True)
class LambdaReply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def _error(status: int, kind: str, message: str) -> LambdaReply:
    body = json.dumps({"Type": "User", "message": message}).encode()
    return LambdaReply(status, body, [("x-amzn-ErrorType", kind), ("Content-Type", "application/json")])


def function_name(raw: str, prefix: str = LOCAL_PREFIX) -> str:
    """A function name, partial ARN or ARN (qualifier ignored) → the topology's function name."""
    name = unquote(raw)
    if ":function:" in name:
        name = name.split(":function:", 1)[1]
    return name.split(":", 1)[0].removeprefix(prefix)


def _function_error(error: BaseException) -> LambdaReply:
    payload = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }
    return LambdaReply(
        200,
        json.dumps(payload).encode(),
        [("X-Amz-Function-Error", "Unhandled"), ("Content-Type", "application/json")],
    )


class LambdaApi:
    """The whole behaviour: (method, path, headers, body) in, a Lambda API reply out."""

    def __init__(self, runner: FunctionRunner, *, wait_s: float | None = None) -> None:
        self.runner = runner
        self.wait_s = wait_s  # how long to wait for a busy function (default: its timeout)

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> LambdaReply:
        match = INVOKE_PATH.match(path)
        if method != "POST" or match is None:
            return _error(404, "UnknownOperationException", f"{method} {path} is not served locally")
        name = function_name(match.group("name"))
        if not self.runner.exists(name):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{LOCAL_PREFIX}{name}"
            return _error(404, "ResourceNotFoundException", f"Function not found: {arn}")
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body into json")
        kind = {k.lower(): v for k, v in headers.items()}.get("x-amz-invocation-type", "RequestResponse")
        if kind == "DryRun":
            return LambdaReply(204)
        if kind == "Event":
            threading.Thread(target=self._background, args=(name, event), daemon=True).start()
            return LambdaReply(202)
        if kind != "RequestResponse":
            return _error(400, "InvalidParameterValueException", f"unknown InvocationType {kind!r}")
        return self._request_response(name, event)

    def _request_response(self, name: str, event: Any) -> LambdaReply:
        try:
            wait_s = self.runner.timeout_s(name) if self.wait_s is None else self.wait_s
            result = self.runner.invoke(name, event, wait_s=wait_s)
            payload = json.dumps(result).encode()
        except FunctionBusy as busy:
            return _error(429, "TooManyRequestsException", str(busy))
        except Exception as error:
            log.info("function %s raised %s (answered as a FunctionError)", name, type(error).__name__)
            return _function_error(error)
        return LambdaReply(200, payload, [("X-Amz-Executed-Version", "$LATEST")])

    def _background(self, name: str, event: Any) -> None:
        try:
            self.runner.invoke(name, event)
        except Exception:
            log.exception("asynchronous invocation of %s failed", name)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, a kept-alive connection then waits for
    # the client's delayed ACK (~40 ms) on every invocation.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.api.handle(
            self.command, urlsplit(self.path).path, dict(self.headers.items()), body
        )
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: LambdaApi


class LambdaApiServer:
    """`LambdaApi` on http://127.0.0.1:<free port>, served from a background thread."""

    def __init__(self, runner: FunctionRunner, port: int = 0, *, wait_s: float | None = None) -> None:
        self._server = _Server((LOCALHOST, port), _Handler)
        self._server.api = LambdaApi(runner, wait_s=wait_s)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="lambda-api", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> str:
        self._thread.start()
        log.info("Lambda Invoke API listening on %s", self.url)
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
