"""moto's request handler, with HTTP/1.1 keep-alive: one TCP connection carries many requests.

werkzeug's development server closes the connection after every response (it sends
`Connection: close`, because it cannot drain a request body the application left unread). So each
call of every boto3/PynamoDB client opened a TCP connection and moto started a thread for it:
under ingest load, a tenth of the local cloud's CPU went to connecting, closing and thread
starts (py-spy, issue 14). This handler reads each request's whole body before the application
runs — so the next request line is always where the connection stands, and werkzeug's discard of
unread input after a response finds nothing to discard — and then lets the connection stay open,
as DynamoDB's endpoint does. A chunked request, or one whose handling
raised, still closes its connection. Nagle's algorithm is off: a response's headers and body
are two writes, and on a kept-alive connection the second would wait for the client's delayed ACK.
"""

from __future__ import annotations

import io
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

IDLE_TIMEOUT_S = 300  # an idle connection's thread ends then (clients reconnect transparently)


class KeepAliveMotoRequestHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY (socketserver.StreamRequestHandler)
    timeout = IDLE_TIMEOUT_S
    _drained = False

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._drained = False
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug reads it; close afterwards
            return environ
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) != length:  # the client went away mid-body
            return environ
        environ["wsgi.input"] = io.BytesIO(body)
        self._drained = True
        # werkzeug discards whatever the socket has after a response ("the rest of the body"):
        # on a kept-alive connection that is the next request, so it reads from nothing instead
        self._connection_stream, self.rfile = self.rfile, io.BytesIO()
        return environ

    def run_wsgi(self) -> None:
        self._connection_stream = self.rfile
        try:
            super().run_wsgi()
        except BaseException:
            self.close_connection = True
            raise
        finally:
            self.rfile = self._connection_stream
        if not self._drained:
            self.close_connection = True

    def send_header(self, keyword: str, value: str) -> None:
        blanket_close = keyword.lower() == "connection" and value.lower() == "close"
        if blanket_close and self._drained and not self.close_connection:
            return  # werkzeug's close on every answer: this request's body was read whole
        super().send_header(keyword, value)
