"""The local moto server keeps HTTP/1.1 connections open (the default; MP_MOTO_KEEP_ALIVE=0 not)
(infra/local/keep_alive.py): one TCP connection carries many requests — also requests sent back to
back before an answer — and every answer is complete."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from infra.local.aws import KEEP_ALIVE_ENV, MotoServer

LIST_TABLES = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}


def request_bytes(host: str, body: bytes) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in LIST_TABLES.items())
    return f"POST / HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server of this module's own, keep-alive on whatever the environment says."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEEP_ALIVE_ENV, "1")
        server = MotoServer(port=0)
        endpoint = server.start()
    try:
        yield endpoint
    finally:
        server.stop()


def read_answer(stream: Any) -> tuple[int, bool]:
    """One HTTP/1.1 answer off `stream`: its status, and whether its body is ListTables'."""
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))
    return status, "TableNames" in json.loads(body)


def test_one_connection_carries_many_requests(moto_endpoint: str) -> None:
    url = urlparse(moto_endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.connect()
    first_socket = connection.sock
    for _ in range(3):
        connection.request("POST", "/", body=b"{}", headers=LIST_TABLES)
        reply = connection.getresponse()
        assert reply.status == 200 and "TableNames" in json.loads(reply.read())
        assert (reply.getheader("Connection") or "").lower() != "close"
    assert connection.sock is first_socket  # never reconnected
    connection.close()


def test_requests_sent_back_to_back_are_each_answered(moto_endpoint: str) -> None:
    # werkzeug discards what the socket holds after an answer: that must not be the next request
    url = urlparse(moto_endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request_bytes(url.netloc, b"{}") * 3)
        stream = sock.makefile("rb")
        statuses = [read_answer(stream) for _ in range(3)]
    assert statuses == [(200, True)] * 3


def test_a_request_the_client_closes_is_answered_and_closed(moto_endpoint: str) -> None:
    url = urlparse(moto_endpoint)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("POST", "/", body=b"{}", headers={**LIST_TABLES, "Connection": "close"})
    reply = connection.getresponse()
    assert reply.status == 200 and reply.will_close
    reply.read()
    connection.close()


def test_keep_alive_is_the_default_and_zero_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.local.aws import keep_alive_on

    monkeypatch.delenv(KEEP_ALIVE_ENV, raising=False)
    assert keep_alive_on()
    monkeypatch.setenv(KEEP_ALIVE_ENV, "0")
    assert not keep_alive_on()
