"""The events API Gateway (REST API, Lambda proxy integration) hands to functions, and back."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from infra.local.aws import ACCOUNT_ID, REGION

STAGE = "local"
API_ID = "local"
PROXY_RESOURCE = "/{proxy+}"
_BINARY_TYPES = ("image/", "application/octet-stream", "application/pdf", "application/zip")


@dataclass(frozen=True)
class HttpRequest:
    """What the gateway received, before it becomes an event."""

    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return single, multi


def request_context(request: HttpRequest, resource: str, request_id: str) -> dict[str, Any]:
    now = time.time()
    return {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "stage": STAGE,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "resourceId": resource,
        "resourcePath": resource,
        "httpMethod": request.method,
        "path": f"/{STAGE}{request.path}",
        "protocol": "HTTP/1.1",
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "identity": {"sourceIp": request.source_ip, "userAgent": dict(request.headers).get("User-Agent")},
        "domainName": "localhost",
    }


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{path}"


def proxy_event(
    request: HttpRequest,
    resource: str,
    path_parameters: Mapping[str, str] | None,
    *,
    request_id: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The REST API proxy (v1) event for `request` on `resource`."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    body: str | None = None
    is_base64 = False
    if request.body:
        try:
            body = request.body.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
    context = request_context(request, resource, request_id or str(uuid.uuid4()))
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def authorizer_event(proxy: Mapping[str, Any]) -> dict[str, Any]:
    """The REQUEST authorizer event API Gateway builds from the same request."""
    return {
        "type": "REQUEST",
        "methodArn": method_arn(proxy["httpMethod"], proxy["path"]),
        "resource": proxy["resource"],
        "path": proxy["path"],
        "httpMethod": proxy["httpMethod"],
        "headers": proxy["headers"] or {},
        "multiValueHeaders": proxy["multiValueHeaders"] or {},
        "queryStringParameters": proxy["queryStringParameters"] or {},
        "multiValueQueryStringParameters": proxy["multiValueQueryStringParameters"] or {},
        "pathParameters": proxy["pathParameters"] or {},
        "stageVariables": {},
        "requestContext": {k: v for k, v in proxy["requestContext"].items() if k != "authorizer"},
    }


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_response(result: Mapping[str, Any]) -> HttpResponse:
    """Map a Lambda proxy response back to HTTP (headers and multiValueHeaders merged)."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        raise ValueError("malformed Lambda proxy response")
    headers: list[tuple[str, str]] = []
    multi = {k.lower(): (k, v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in multi:
            headers.append((name, str(value)))
    for name, values in multi.values():
        headers.extend((name, str(v)) for v in values)
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
    return HttpResponse(int(result["statusCode"]), headers, body)
