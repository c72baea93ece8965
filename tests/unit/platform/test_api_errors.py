"""The resolver factory answers every failure with the one envelope (SPEC §0)."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from meterplex.platform.api import ApiModel, create_app
from meterplex.platform.errors import Conflict, FieldError, InvalidInput, RateLimited

router = Router()


class Thing(ApiModel):
    name: str
    count: int


@router.post("/things")
def create(body: Annotated[Thing, Body()]) -> dict[str, Any]:
    return {"name": body.name}


@router.get("/boom")
def boom() -> dict[str, Any]:
    raise RuntimeError("secret internals: db password=hunter2")


@router.get("/conflict")
def conflict() -> dict[str, Any]:
    raise Conflict("already there", code="THING_EXISTS")


@router.get("/invalid")
def invalid() -> dict[str, Any]:
    raise InvalidInput("bad", details=[FieldError("events[3].timestamp", "too late")])


@router.get("/slow-down")
def slow_down() -> dict[str, Any]:
    raise RateLimited("wait", retry_after_s=42)


app = create_app(router)


def call(
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    *,
    binary: bytes | None = None,
) -> dict[str, Any]:
    if binary is not None:  # what the gateway sends for a body that is not UTF-8 text
        body = base64.b64encode(binary).decode("ascii")
    event = {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": binary is not None,
        "requestContext": {
            "requestId": "req-123",
            "path": path,
            "httpMethod": method,
            "stage": "test",
            "identity": {"sourceIp": "127.0.0.1"},
            "resourcePath": path,
        },
    }
    response = app.resolve(event, None)  # type: ignore[arg-type]
    response["json"] = json.loads(response["body"]) if response.get("body") else None
    return response


def header(response: dict[str, Any], name: str) -> str | None:
    for key, values in (response.get("multiValueHeaders") or {}).items():
        if key.lower() == name:
            return values[0]
    return (response.get("headers") or {}).get(name)


def assert_envelope(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    body = response["json"]
    assert response["statusCode"] == status == body["statusCode"]
    assert body["code"] == code and body["message"] and body["error"]
    assert body["timestamp"].endswith("Z") and body["path"]
    return body


def test_unknown_route_answers_404_envelope() -> None:
    body = assert_envelope(call("GET", "/nowhere"), 404, "ROUTE_NOT_FOUND")
    assert body["error"] == "Not Found" and body["path"] == "/nowhere"


def test_malformed_json_answers_400_envelope() -> None:
    assert_envelope(call("POST", "/things", "{not json"), 400, "MALFORMED_JSON")


def test_validation_error_lists_fields_including_unknown_ones() -> None:
    body = assert_envelope(
        call("POST", "/things", json.dumps({"name": 1, "extra": True})), 400, "VALIDATION_FAILED"
    )
    assert {d["field"] for d in body["details"]} == {"name", "count", "extra"}


def test_unexpected_exception_answers_500_with_correlation_id_and_no_trace() -> None:
    response = call("GET", "/boom", headers={"x-correlation-id": "corr-9"})
    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert body["correlationId"] == "corr-9" and header(response, "x-correlation-id") == "corr-9"
    text = response["body"]
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text


def test_domain_errors_map_to_their_status() -> None:
    assert_envelope(call("GET", "/conflict"), 409, "THING_EXISTS")
    body = assert_envelope(call("GET", "/invalid"), 400, "VALIDATION_FAILED")
    assert body["details"] == [{"field": "events[3].timestamp", "message": "too late"}]
    limited = call("GET", "/slow-down")
    assert_envelope(limited, 429, "RATE_LIMITED")
    assert header(limited, "retry-after") == "42"


def test_correlation_id_is_generated_from_the_request_id_when_absent() -> None:
    response = call("GET", "/nowhere")
    assert response["json"]["correlationId"] == "req-123" == header(response, "x-correlation-id")


# -- issue 9, finding 12: bodies that are not JSON text answer 4xx, never 500 ---------------------
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"],
)
def test_json_route_with_another_content_type_answers_415(content_type: str) -> None:
    body = json.dumps({"name": "a", "count": 1})
    response = call("POST", "/things", body, headers={"content-type": content_type})
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", None])
def test_json_content_types_are_accepted(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    assert call("POST", "/things", json.dumps({"name": "a", "count": 1}), headers)["statusCode"] == 200


def test_body_that_is_not_utf8_answers_400() -> None:
    response = call("POST", "/things", binary=b'{"name": "\xff\xfe", "count": 1}')
    assert_envelope(response, 400, "INVALID_ENCODING")


def test_utf8_body_sent_as_base64_is_accepted() -> None:
    response = call("POST", "/things", binary=json.dumps({"name": "é", "count": 1}).encode())
    assert response["statusCode"] == 200 and response["json"] == {"name": "é"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"name": NaN, "count": 1}', "MALFORMED_JSON"),
        ('{"name": "a", "count": 1e999}', "NUMBER_OUT_OF_RANGE"),
        ('{"name": "\\ud800", "count": 1}', "MALFORMED_JSON"),
        ('{"name": "a", "count": 9223372036854775808}', "INTEGER_OUT_OF_RANGE"),
    ],
)
def test_json_that_cannot_be_stored_answers_400(raw: str, code: str) -> None:
    assert_envelope(call("POST", "/things", raw), 400, code)


# -- issue 9, finding 10: x-correlation-id is validated before it is used anywhere ---------------
@pytest.mark.parametrize("sent", ["x" * 129, "has space", "new\nline", "ünïcode", ""])
def test_invalid_correlation_id_is_replaced_by_the_request_id(sent: str) -> None:
    response = call("GET", "/conflict", headers={"x-correlation-id": sent})
    assert response["json"]["correlationId"] == "req-123" == header(response, "x-correlation-id")


def test_valid_correlation_id_is_echoed() -> None:
    sent = "Ab9._:-" + "z" * 121  # 128 characters of the allowed set
    response = call("GET", "/conflict", headers={"x-correlation-id": sent})
    assert response["json"]["correlationId"] == sent == header(response, "x-correlation-id")
