"""One HTTP attempt to a receiver (SPEC §8.3, ADR 0080), standard library only.

It connects to the address the SSRF guard checked (`Target.address`) — never resolving the name
again — while TLS verifies the certificate against the URL's host and the `Host` header names it.
The whole attempt has one deadline (15 s): a timer shuts the socket down when it passes, however
slowly the receiver dribbles. Redirects are not followed; at most `EXCERPT_BYTES` of the answer
are read.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from meterplex.webhooks.models import EXCERPT_BYTES, excerpt
from meterplex.webhooks.ssrf import Target


@dataclass(frozen=True)
class Response:
    status_code: int | None
    latency_ms: int
    excerpt: str | None = None
    retry_after: str | None = None
    error: str | None = None


Send = Callable[[Target, Mapping[str, str], bytes, float], Response]


def _connection(target: Target, timeout_s: float) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout_s, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)

    def pinned(address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        # `address` is (the URL's host, port): connect to the checked address instead.
        return socket.create_connection((target.address, address[1]), timeout, source_address)

    connection._create_connection = pinned  # type: ignore[attr-defined]  # http.client's own hook
    return connection


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def send(target: Target, headers: Mapping[str, str], body: bytes, timeout_s: float) -> Response:
    """POST `body` to the target; the receiver's status, or the error that stood in its way."""
    started = time.monotonic()
    connection = _connection(target, timeout_s)
    deadline = threading.Timer(timeout_s, _shut, args=(connection,))
    deadline.daemon = True
    deadline.start()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        connection.request(
            "POST", target.path, body=body, headers={**headers, "user-agent": "Meterplex-Webhooks/1"}
        )
        answer = connection.getresponse()
        status = answer.status
        retry_after = answer.getheader("retry-after")
        text = excerpt(answer.read(EXCERPT_BYTES))
        latency = elapsed_ms()
        if latency >= timeout_s * 1000:
            return Response(None, latency, error=f"timed out after {timeout_s:g}s")
        return Response(status, latency, text or None, retry_after)
    except TimeoutError:
        return Response(None, elapsed_ms(), error=f"timed out after {timeout_s:g}s")
    except ssl.SSLError as error:
        return Response(None, elapsed_ms(), error=f"TLS: {error.reason or error}")
    except (OSError, http.client.HTTPException) as error:
        late = elapsed_ms() >= timeout_s * 1000
        reason = f"timed out after {timeout_s:g}s" if late else f"{type(error).__name__}: {error}"
        return Response(None, elapsed_ms(), error=reason[:300])
    finally:
        deadline.cancel()
        connection.close()
