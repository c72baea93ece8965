"""The resolver factory: every HTTP function is a Powertools REST resolver built here.

It owns the whole HTTP edge of a function: validation (Powertools + pydantic), the error envelope
for every failure (domain errors, validation, unknown routes, unexpected exceptions — a 500 never
carries a trace), the correlation id (echoed in `x-correlation-id`), and CORS. HTTP status codes
for errors are decided here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from meterplex.platform.audit import Actor
from meterplex.platform.auth import TENANT_HEADER, Principal
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.errors import ErrorKind, FieldError, MeterplexError, envelope
from meterplex.platform.observability import logger

CORRELATION_HEADER = "x-correlation-id"
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


def correlation_id_of(app: HasEvent) -> str:
    event = app.current_event
    return event.headers.get(CORRELATION_HEADER) or event.request_context.request_id or "unknown"


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
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "MALFORMED_JSON", "The request body is not valid JSON")
        if any(e.get("type") == "unsupported_content_type" for e in errors):
            return error_response(400, "UNSUPPORTED_CONTENT_TYPE", "Send the body as application/json")
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
        response = next_middleware(app_)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response

    app.use(middlewares=[_correlation])
    return app
