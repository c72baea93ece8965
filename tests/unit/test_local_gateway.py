"""The local API Gateway: proxy events, the REQUEST authorizer, response mapping (no sockets)."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest

from infra import topology
from infra.local.api_events import HttpRequest, authorizer_event, http_response, proxy_event
from infra.local.gateway import MAX_BODY_BYTES, BodyRejected, Gateway, policy_allows, read_body


def allow(context: dict[str, str] | None = None, effect: str = "Allow") -> dict[str, Any]:
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": "arn:aws:execute-api:*"}
            ],
        },
        "context": context or {"authType": "jwt", "userId": "user-1"},
    }


class FakeFunctions:
    """Records invocations; the authorizer answers `policy` (or raises `auth_error`)."""

    def __init__(self, policy: Any = None, auth_error: Exception | None = None, crash: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.policy = policy if policy is not None else allow()
        self.auth_error = auth_error
        self.crash = crash

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        self.calls.append((name, event))
        if name == "authorizer":
            if self.auth_error:
                raise self.auth_error
            return self.policy
        if self.crash:
            raise RuntimeError("boom")
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"function": name}),
            "isBase64Encoded": False,
        }

    def event_of(self, name: str) -> dict[str, Any]:
        return next(event for fn, event in self.calls if fn == name)


def gateway(functions: FakeFunctions, ttl: float = 0) -> Gateway:
    return Gateway(topology.ROUTES, functions, fallback_function=topology.FALLBACK_FUNCTION, cache_ttl_s=ttl)


def get(path: str, query: str = "", **headers: str) -> HttpRequest:
    return HttpRequest("GET", path, query, list(headers.items()))


def body(response: Any) -> dict[str, Any]:
    return json.loads(response.body)


def test_proxy_event_has_the_rest_v1_shape() -> None:
    request = HttpRequest("POST", "/api/v1/tenants/t-1", "a=1&a=2&b=", [("X-H", "v")], b'{"x":1}', "10.0.0.1")
    event = proxy_event(request, "/api/v1/tenants/{id}", {"id": "t-1"}, request_id="r-1")
    assert event["resource"] == "/api/v1/tenants/{id}"
    assert event["path"] == "/api/v1/tenants/t-1"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "t-1"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"] == {"X-H": "v"} and event["multiValueHeaders"] == {"X-H": ["v"]}
    assert event["body"] == '{"x":1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == "r-1" and context["stage"] == "local"
    assert context["resourcePath"] == "/api/v1/tenants/{id}" and context["httpMethod"] == "POST"
    assert context["identity"]["sourceIp"] == "10.0.0.1"
    assert isinstance(context["requestTimeEpoch"], int)


def test_proxy_event_without_query_params_or_body_uses_nulls() -> None:
    event = proxy_event(get("/health"), "/health", None)
    assert event["queryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None


def test_proxy_event_binary_body_is_base64() -> None:
    event = proxy_event(HttpRequest("POST", "/x", body=b"\xff\x00"), "/x", None)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00"


def test_authorizer_event_is_a_request_authorizer_event() -> None:
    proxy = proxy_event(get("/api/v1/auth/me", Authorization="Bearer t"), "/api/v1/auth/me", None)
    event = authorizer_event(proxy)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == "arn:aws:execute-api:us-east-1:000000000000:local/local/GET/api/v1/auth/me"
    assert event["headers"] == {"Authorization": "Bearer t"}
    assert "authorizer" not in event["requestContext"]


def test_http_response_merges_headers_and_decodes_base64() -> None:
    response = http_response(
        {
            "statusCode": 201,
            "headers": {"A": "1", "B": "single"},
            "multiValueHeaders": {"b": ["m1", "m2"]},
            "body": base64.b64encode(b"\x01\x02").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.headers == [("A", "1"), ("b", "m1"), ("b", "m2")]
    assert response.body == b"\x01\x02"


def test_public_route_skips_the_authorizer() -> None:
    functions = FakeFunctions()
    response = gateway(functions).handle(get("/health"))
    assert response.status == 200
    assert [name for name, _ in functions.calls] == ["health_api"]
    assert ("Set-Cookie", "b=2") in response.headers


def test_unknown_route_and_method_mismatch_go_to_the_fallback() -> None:
    functions = FakeFunctions()
    gateway(functions).handle(get("/nope/x"))
    gateway(functions).handle(HttpRequest("DELETE", "/health"))
    assert [name for name, _ in functions.calls] == [topology.FALLBACK_FUNCTION] * 2
    event = functions.calls[0][1]
    assert event["resource"] == "/{proxy+}" and event["pathParameters"] == {"proxy": "nope/x"}


def test_protected_route_allowed_carries_the_authorizer_context() -> None:
    functions = FakeFunctions(allow({"authType": "jwt", "userId": "u-9"}))
    response = gateway(functions).handle(get("/api/v1/tenants/slug/acme", Authorization="Bearer t"))
    assert response.status == 200
    event = functions.event_of("identity_api")
    assert event["requestContext"]["authorizer"] == {
        "authType": "jwt",
        "userId": "u-9",
        "principalId": "user-1",
    }
    assert event["pathParameters"] == {"slug": "acme"}


def test_authorizer_unauthorized_is_a_401_envelope_with_the_correlation_id() -> None:
    functions = FakeFunctions(auth_error=Exception("Unauthorized"))
    response = gateway(functions).handle(get("/api/v1/auth/me", **{"x-correlation-id": "c-1"}))
    assert response.status == 401
    assert body(response)["code"] == "UNAUTHORIZED"
    assert body(response)["correlationId"] == "c-1"
    assert body(response)["path"] == "/api/v1/auth/me"
    assert ("x-correlation-id", "c-1") in response.headers
    assert [name for name, _ in functions.calls] == ["authorizer"]


def test_authorizer_deny_is_a_403_envelope() -> None:
    functions = FakeFunctions(allow(effect="Deny"))
    response = gateway(functions).handle(get("/api/v1/auth/me", Authorization="Bearer t"))
    assert response.status == 403
    assert body(response)["code"] == "ACCESS_DENIED"
    assert body(response)["correlationId"]  # generated when the caller sent none


def test_policy_allows_checks_the_resource_and_explicit_deny() -> None:
    arn = "arn:aws:execute-api:us-east-1:000000000000:local/local/GET/api/v1/auth/me"
    policy = allow()
    assert policy_allows(policy, arn)
    policy["policyDocument"]["Statement"][0]["Resource"] = "arn:aws:execute-api:*:*:*/*/POST/*"
    assert not policy_allows(policy, arn)
    both = allow()
    both["policyDocument"]["Statement"].append(dict(both["policyDocument"]["Statement"][0], Effect="Deny"))
    assert not policy_allows(both, arn)


def test_authorizer_cache_reuses_the_policy_per_token_while_ttl_lasts() -> None:
    functions = FakeFunctions()
    cached = gateway(functions, ttl=300)
    for token in ("Bearer a", "Bearer a", "Bearer b"):
        cached.handle(get("/api/v1/auth/me", Authorization=token))
    assert [name for name, _ in functions.calls].count("authorizer") == 2


def test_authorizer_cache_off_by_default_calls_every_time() -> None:
    functions = FakeFunctions()
    uncached = gateway(functions)
    for _ in range(2):
        uncached.handle(get("/api/v1/auth/me", Authorization="Bearer a"))
    assert [name for name, _ in functions.calls].count("authorizer") == 2


def test_function_exception_is_a_502_envelope() -> None:
    response = gateway(FakeFunctions(crash=True)).handle(get("/health"))
    assert response.status == 502
    assert body(response)["message"] == "Internal server error"


@pytest.mark.parametrize("bad", [None, {"body": "no status"}])
def test_malformed_proxy_response_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError):
        http_response(bad)


# -- issue 9, findings 10-12: the gateway's own answers ---------------------------------------------
@pytest.mark.parametrize("verb", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_verbs_api_gateway_has_no_method_for_answer_the_404_envelope(verb: str) -> None:
    functions = FakeFunctions()
    response = gateway(functions).handle(HttpRequest(verb, "/api/v1/plans"))
    assert response.status == 404
    assert body(response)["code"] == "NOT_FOUND" and body(response)["path"] == "/api/v1/plans"
    assert functions.calls == []


def test_body_over_10_mb_is_the_413_envelope() -> None:
    functions = FakeFunctions()
    request = HttpRequest("POST", "/api/v1/auth/login", body=b"x" * (MAX_BODY_BYTES + 1))
    response = gateway(functions).handle(request)
    assert response.status == 413 and body(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert functions.calls == []


@pytest.mark.parametrize("sent", ["x" * 129, "a b", "évian", "semi;colon"])
def test_invalid_correlation_id_is_replaced_by_the_request_id(sent: str) -> None:
    functions = FakeFunctions(auth_error=Exception("Unauthorized"))
    response = gateway(functions).handle(get("/api/v1/auth/me", **{"x-correlation-id": sent}))
    generated = body(response)["correlationId"]
    assert generated != sent and re.fullmatch(r"[0-9a-f-]{36}", generated)
    assert ("x-correlation-id", generated) in response.headers


def test_valid_correlation_id_is_kept() -> None:
    functions = FakeFunctions(auth_error=Exception("Unauthorized"))
    response = gateway(functions).handle(get("/api/v1/auth/me", **{"x-correlation-id": "order:42.a_b-c"}))
    assert body(response)["correlationId"] == "order:42.a_b-c"


def lower(**headers: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in headers.items()}


@pytest.mark.parametrize("declared", ["-1", "abc", "1e3", "", " ", "5, 6", "+5", "٣"])
def test_bad_content_length_is_a_400(declared: str) -> None:
    with pytest.raises(BodyRejected) as rejected:
        read_body(lower(content_length=declared), io.BytesIO(b"hello"))
    assert (rejected.value.status, rejected.value.code) == (400, "BAD_REQUEST")


def test_content_length_is_read_exactly_and_repeated_equal_values_are_fine() -> None:
    assert read_body(lower(content_length="5, 5"), io.BytesIO(b"hello world")) == b"hello"
    assert read_body({}, io.BytesIO(b"ignored")) == b""


def test_content_length_over_the_limit_is_a_413_before_reading() -> None:
    stream = io.BytesIO(b"x" * 100)
    with pytest.raises(BodyRejected) as rejected:
        read_body(lower(content_length="11"), stream, limit=10)
    assert rejected.value.status == 413 and stream.tell() == 0


def chunked(*chunks: bytes, trailer: bytes = b"") -> io.BytesIO:
    raw = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailer + b"\r\n"
    return io.BytesIO(raw + b"NEXT REQUEST")


def test_chunked_body_is_decoded_with_extensions_and_trailers() -> None:
    stream = chunked(b'{"email":', b' "a@b.co"}', trailer=b"X-Trailer: 1\r\n")
    assert read_body(lower(transfer_encoding="chunked"), stream) == b'{"email": "a@b.co"}'
    assert stream.read() == b"NEXT REQUEST"  # the connection can carry the next request


@pytest.mark.parametrize("raw", [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nab\r\n", b"-1\r\n\r\n", b"\r\n"])
def test_malformed_chunked_body_is_a_400(raw: bytes) -> None:
    with pytest.raises(BodyRejected) as rejected:
        read_body(lower(transfer_encoding="chunked"), io.BytesIO(raw))
    assert rejected.value.status == 400


def test_chunked_body_over_the_limit_is_a_413() -> None:
    with pytest.raises(BodyRejected) as rejected:
        read_body(lower(transfer_encoding="gzip, chunked"), chunked(b"x" * 6, b"y" * 6), limit=10)
    assert rejected.value.status == 413
