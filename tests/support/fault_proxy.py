"""A fault-injecting HTTP proxy for e2e tests: in front of the local cloud, it fails a deterministic
share of the requests it receives, the three ways a gateway fails a client.

Every `every`-th request fails (every=5: 20 %), cycling through:
* `503`: answered 503 in the error envelope, not forwarded;
* `drop`: the connection is closed without an answer, not forwarded;
* `lost`: forwarded (the server does the work), then the connection is closed without the answer —
  the case where a retry must be a duplicate, not a second count.
`delay_s` holds every forwarded request that long first, so a client can be killed mid-send.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULTS = ("503", "drop", "lost")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


class FaultProxy:
    def __init__(self, upstream: str, *, every: int = 5, delay_s: float = 0.0) -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.every = every
        self.delay_s = delay_s
        self.requests = 0
        self.forwarded = 0
        self.faults: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault()
                if fault == "503":
                    self._answer(
                        503, json.dumps({"statusCode": 503, "code": "SERVICE_UNAVAILABLE"}).encode(), {}
                    )
                    return
                if fault == "drop":
                    self.close_connection = True
                    return
                status, headers, payload = proxy._forward(self.command, self.path, dict(self.headers), body)
                if fault == "lost":
                    self.close_connection = True
                    return
                self._answer(status, payload, headers)

            def _answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                if status == 503:
                    self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            number = self.requests
            if number % self.every:
                return None
            fault = FAULTS[(number // self.every - 1) % len(FAULTS)]
            self.faults[fault] += 1
            return fault

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.delay_s:
            time.sleep(self.delay_s)
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS and k.lower() != "host"}
            connection.request(method, path, body=body or None, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            with self._lock:
                self.forwarded += 1
            return response.status, dict(response.getheaders()), payload
        finally:
            connection.close()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
