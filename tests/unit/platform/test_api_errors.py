"""The resolver factory answers every failure with the one envelope (SPEC §0)."""

from __future__ import annotations

import json
from typing import Annotated, Any

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
    method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
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
        "isBase64Encoded": False,
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
