"""Ports: pick a free one, or fail with a message that says how to pick another."""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


class PortInUse(RuntimeError):
    def __init__(self, port: int, variable: str) -> None:
        super().__init__(f"port {port} is already in use; set {variable}=<another port> (0 = any free port)")
        self.port = port
        self.variable = variable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def ensure_free(port: int, variable: str) -> int:
    """`port`, or a free one when 0; raise PortInUse when something already listens there."""
    if port == 0:
        return free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOCALHOST, port))
        except OSError as error:
            raise PortInUse(port, variable) from error
    return port
