"""The local API Gateway: proxy events, the REQUEST authorizer, response mapping (no sockets)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from infra import topology
from infra.local.api_events import HttpRequest, authorizer_event, http_response, proxy_event
from infra.local.gateway import Gateway, policy_allows


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
