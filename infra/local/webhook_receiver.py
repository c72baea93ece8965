"""A real HTTP webhook receiver on localhost for tests, the bench and the load harness: it records
every request (path, headers, body, real arrival time) and answers what its script says per path.

`script(path, [500, 500, 500, 200])` answers the path's requests in that order (the last status
repeats); a status may be `(status, headers)` or `(status, headers, delay_s)` (a slow answer).
Unscripted paths answer 200.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = int | tuple[int, dict[str, str]] | tuple[int, dict[str, str], float]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival
    status: int  # what the receiver answered


class Receiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Answer]] = {}
        self._served: dict[str, int] = defaultdict(int)
        self.received: list[Received] = []
        self.on_receive: Callable[[Received], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status, headers, delay = receiver._answer(self.path)
                record = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time(), status
                )
                with receiver._lock:
                    receiver.received.append(record)
                if receiver.on_receive is not None:
                    receiver.on_receive(record)
                if delay:
                    time.sleep(delay)
                answer = b'{"ok":true}'
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the sender gave up (its timeout)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def script(self, path: str, answers: Sequence[Answer]) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def _answer(self, path: str) -> tuple[int, dict[str, str], float]:
        with self._lock:
            answers = self._scripts.get(path) or [200]
            index = min(self._served[path], len(answers) - 1)
            self._served[path] += 1
        answer = answers[index]
        if isinstance(answer, int):
            return answer, {}, 0.0
        if len(answer) == 2:
            return answer[0], answer[1], 0.0
        return answer[0], answer[1], answer[2]

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
