"""The resolver factory: every HTTP function is a Powertools REST resolver built here.

It owns the whole HTTP edge of a function: SPEC §0's input limits (`platform.limits`, checked
before anything parses the request), validation (Powertools + pydantic), the error envelope for
every failure (domain errors, validation, unknown routes, unexpected exceptions — a 500 never
carries a trace), the correlation id (validated, echoed in `x-correlation-id`), and CORS. HTTP
status codes for errors are decided here and nowhere else.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from meterplex.platform import limits
from meterplex.platform.audit import Actor
from meterplex.platform.auth import TENANT_HEADER, Principal
from meterplex.platform.clock import Clock, invocation_scope, system_clock
from meterplex.platform.errors import ErrorKind, FieldError, InvalidInput, MeterplexError, envelope
from meterplex.platform.observability import CORRELATION_HEADER, logger

JSON = "application/json"
INTERNAL_MESSAGE = "An unexpected error occurred; quote the correlation id when reporting it"


class HasEvent(Protocol):
    """A resolver or router: anything that knows the event being handled."""

    @property
    def current_event(self) -> Any: ...


class ApiModel(BaseModel):
    """Base of request bodies: camelCase on the wire, unknown fields rejected (SPEC §0)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ApiResponse(BaseModel):
    """Base of response bodies: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# OpenAPI security requirements, one per `infra.topology.Auth` (the schemes are declared in
# docs/openapi.py). Every non-public route passes the one of its topology auth as `security=`;
# tests/unit/test_openapi.py holds the two equal. The authorizer enforces; these document.
JWT_SCHEME, TENANT_SCHEME, API_KEY_SCHEME = "bearerJwt", "tenantId", "apiKey"
AUTH_USER: list[dict[str, list[str]]] = [{JWT_SCHEME: []}]
AUTH_TENANT: list[dict[str, list[str]]] = [{JWT_SCHEME: [], TENANT_SCHEME: []}, {API_KEY_SCHEME: []}]
AUTH_API_KEY: list[dict[str, list[str]]] = [{API_KEY_SCHEME: []}]

_GENERATED_CORRELATION = "meterplexCorrelationId"  # where a generated id is kept for the request


class FieldErrorOut(ApiResponse):
    field: str = Field(description="Where: `events[3].timestamp`, `body`, a path parameter…")
    message: str


class ErrorOut(ApiResponse):
    """The one error envelope (SPEC §0), from any layer: gateway, authorizer, handler."""

    status_code: int
    error: str = Field(description="The HTTP reason phrase")
    code: str = Field(description="Stable, machine-readable: QUOTA_EXCEEDED, VALIDATION_FAILED…")
    message: str
    details: list[FieldErrorOut] | None = Field(None, description="Field errors; absent when none")
    correlation_id: str
    timestamp: str
    path: str


def correlation_id_of(app: HasEvent) -> str:
    """The caller's `x-correlation-id` when it is 1–128 of `[A-Za-z0-9._:-]`, else the request id
    (else a generated one): never raw input into logs, usage items, audit events or Kafka."""
    event = app.current_event
    sent = event.headers.get(CORRELATION_HEADER)
    if limits.is_correlation_id(sent):
        return str(sent)
    request_id = event.request_context.request_id
    if limits.is_correlation_id(request_id):
        return str(request_id)
    return str(event.raw_event.setdefault(_GENERATED_CORRELATION, str(uuid.uuid4())))


def principal_of(app: HasEvent) -> Principal:
    """The authenticated caller (401 when the route was reached without an authorizer context)."""
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer")
    return Principal.from_context(authorizer)


def tenant_header_of(app: HasEvent) -> str | None:
    return app.current_event.headers.get(TENANT_HEADER) or None


def client_ip_of(app: HasEvent) -> str:
    return app.current_event.request_context.identity.source_ip or "unknown"


def actor_of(app: HasEvent, principal: Principal | None = None) -> Actor:
    """Who is acting, for the audit trail: the principal (or anonymous), correlation id, client IP."""
    if principal is None:
        who = "anonymous"
    elif principal.user_id:
        who = f"user:{principal.user_id}"
    else:
        who = f"apikey:{principal.api_key_id}"
    return Actor(who, correlation_id_of(app), client_ip_of(app))


def _field_path(loc: Iterable[Any]) -> str:
    """("body", "events", 3, "timestamp") → "events[3].timestamp"."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "headers"}:
        parts = parts[1:] or parts
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def validation_details(errors: Iterable[dict[str, Any]]) -> list[FieldError]:
    return [FieldError(_field_path(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors]


_BODY_TEXT = "meterplex_body_text"  # the admitted body, decoded once per request


class _LimitedRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation (the first middleware of every route, the 404 included),
    preceded by SPEC §0's limits: body size and encoding, then path parameters as key parts; the
    body is parsed as JSON only, within the nesting and integer limits."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Response:
        event = app.current_event
        route = app.context.get("_route")
        limit = limits.body_limit(getattr(route, "openapi_extensions", None))
        app.append_context(
            **{_BODY_TEXT: limits.body_text(event.body, is_base64=event.is_base64_encoded, limit=limit)}
        )
        bad = [
            FieldError(name, problem)
            for name, value in (app.context.get("_route_args") or {}).items()
            if isinstance(value, str) and (problem := limits.key_bytes_error(value))
        ]
        if bad:
            raise InvalidInput("The request is invalid", details=bad)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> Any:
        text = app.context.get(_BODY_TEXT)
        if text:
            limits.require_json(app.current_event.headers.get("content-type"))
        return limits.parse_json(text)


def create_app(*routers: Router, clock: Clock = system_clock) -> APIGatewayRestResolver:
    """A resolver serving `routers`, with the house error handling and correlation ids."""
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin="*",
            allow_headers=["Authorization", "Content-Type", TENANT_HEADER, CORRELATION_HEADER],
            expose_headers=[CORRELATION_HEADER, "Retry-After"],
            max_age=600,
        ),
    )
    # Powertools keeps its request validation middleware here and runs it before any other.
    app._request_validation_middleware = _LimitedRequestValidation()
    for router in routers:
        app.include_router(router)

    def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
        headers = {CORRELATION_HEADER: correlation_id_of(app), **extra.pop("headers", {})}
        body = envelope(
            status,
            code,
            message,
            correlation_id=correlation_id_of(app),
            path=app.current_event.path,
            timestamp=clock.now(),
            details=extra.pop("details", None),
            extra=extra.pop("extra", None),
        )
        return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers)

    @app.exception_handler(MeterplexError)
    def _domain_error(error: MeterplexError) -> Response:
        status = int(error.kind.value)
        if error.kind is ErrorKind.INTERNAL:
            logger.error("internal error", code=error.code)
        return error_response(
            status, error.code, error.message, details=error.details, headers=error.headers, extra=error.extra
        )

    @app.exception_handler(RequestValidationError)
    def _validation_error(error: RequestValidationError) -> Response:
        errors = list(error.errors())
        return error_response(
            400, "VALIDATION_FAILED", "The request is invalid", details=validation_details(errors)
        )

    @app.exception_handler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        status = int(error.status_code)
        return error_response(status, "HTTP_ERROR", str(error.msg))

    @app.not_found
    def _route_not_found(_: Exception) -> Response:
        return error_response(
            404,
            "ROUTE_NOT_FOUND",
            f"No route for {app.current_event.http_method} {app.current_event.path}",
        )

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        logger.exception("unhandled error", error_type=type(error).__name__)
        return error_response(500, "INTERNAL_ERROR", INTERNAL_MESSAGE)

    def _correlation(app_: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
        correlation_id = correlation_id_of(app_)
        logger.set_correlation_id(correlation_id)
        started = time.perf_counter()
        response = next_middleware(app_)
        response.headers[CORRELATION_HEADER] = correlation_id
        # one line per request (its duration: when it began), so a correlation id can be followed
        # from its request to its last effect (ADR 0105)
        event = app_.current_event
        logger.info(
            "request handled",
            method=event.http_method,
            resource=event.resource,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    def _business_time(app_: APIGatewayRestResolver, next_middleware: Callable[..., Response]) -> Response:
        with invocation_scope():  # one test-clock read per request at most (ADR 0050)
            return next_middleware(app_)

    app.use(middlewares=[_correlation, _business_time])
    return app
