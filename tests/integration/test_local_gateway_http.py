"""The local gateway over real HTTP (issue 9, finding 11): bodies are read as API Gateway reads
them, and every answer the HTTP layer makes itself is the JSON envelope — never a dropped
connection or an HTML page."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest

from infra import topology
from infra.local.gateway import Gateway, GatewayServer
from tests.integration.identity.conftest import PASSWORD, register
from tests.support.api_client import runner

pytestmark = pytest.mark.usefixtures("moto_endpoint")
API_GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024  # bytes


@pytest.fixture(scope="module")
def server(moto_endpoint: str) -> Iterator[GatewayServer]:
    gateway = Gateway(topology.ROUTES, runner().invoke, fallback_function=topology.FALLBACK_FUNCTION)
    served = GatewayServer(gateway, 0)
    served.start()
    yield served
    served.stop()


def raw_exchange(server: GatewayServer, request: bytes) -> tuple[int, dict[str, str], dict]:
    """Send `request` bytes as they are; read one response (status, headers, JSON body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(payload[: int(headers["content-length"])])


def test_a_valid_login_sent_chunked_works(server: GatewayServer) -> None:
    account = register()
    body = json.dumps({"email": account.email, "password": PASSWORD}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    parts = iter([body[:10], body[10:]])
    connection.request(
        "POST",
        "/api/v1/auth/login",
        body=parts,
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200, response.read()
    assert json.loads(response.read())["user"]["email"] == account.email
    # the connection stays usable: the chunked body was consumed exactly
    connection.request("GET", "/health")
    assert connection.getresponse().status in {200, 503}
    connection.close()


@pytest.mark.parametrize("declared", ["-1", "abc"])
def test_negative_or_garbage_content_length_answers_the_400_envelope(
    server: GatewayServer, declared: str
) -> None:
    request = (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n{{}}"
    ).encode()
    status, _, body = raw_exchange(server, request)
    assert (status, body["code"], body["statusCode"]) == (400, "BAD_REQUEST", 400)


def test_body_over_10_mb_answers_413_without_reading_it(server: GatewayServer) -> None:
    request = (
        "POST /api/v1/usage/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {API_GATEWAY_PAYLOAD_LIMIT + 1}\r\n\r\n"
    ).encode()
    status, _, body = raw_exchange(server, request)  # the body itself is never sent
    assert (status, body["code"]) == (413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("verb", ["TRACE", "CONNECT", "FOO"])
def test_unsupported_verbs_answer_the_envelope_not_a_501_page(server: GatewayServer, verb: str) -> None:
    status, headers, body = raw_exchange(server, f"{verb} /api/v1/plans HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert (status, body["code"]) == (404, "NOT_FOUND")
    assert headers["content-type"] == "application/json"


def test_a_malformed_request_line_answers_the_envelope(server: GatewayServer) -> None:
    status, headers, body = raw_exchange(server, b"GET /x HTTP/9.9 extra\r\n\r\n")
    assert status == 400 and body["statusCode"] == 400
    assert headers["content-type"] == "application/json"
