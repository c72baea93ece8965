"""Build the merged OpenAPI document and the Swagger UI page.

Every route group's routers are included in one resolver used only for schema generation (never
for routing), so `/api/openapi.json` covers the whole API while each function routes only its own.
Powertools generates the operations; `finish()` adds what holds for every operation alike and
Powertools cannot know: the error envelope on each error status the edge can answer, the 255-byte
limit on path parameters (SPEC §0), and no 422 (validation errors answer 400). It is generic over
the document, so routes added later get the same.
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer, Server
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

from meterplex.platform.api import API_KEY_SCHEME, JWT_SCHEME, TENANT_SCHEME, ErrorOut, create_app
from meterplex.platform.auth import API_KEY_PREFIX, TENANT_HEADER
from meterplex.platform.limits import MAX_KEY_BYTES

TITLE = "Meterplex API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Usage metering, entitlements and billing. Authenticate with `Authorization: Bearer <access JWT>` "
    "plus `x-tenant-id` for tenant routes, or `Authorization: Bearer mp_live_…` (an API key). "
    "Every error answers one JSON envelope (`Error`). The behaviour rules: docs/api.md."
)
SECURITY_SCHEMES = {
    JWT_SCHEME: HTTPBearer(bearerFormat="JWT", description="An access token from POST /api/v1/auth/login"),
    TENANT_SCHEME: APIKey(
        in_=APIKeyIn.header, name=TENANT_HEADER, description="The tenant a JWT caller acts in"
    ),
    API_KEY_SCHEME: HTTPBearer(
        bearerFormat=f"{API_KEY_PREFIX}…", description="A tenant's API key (it fixes the tenant)"
    ),
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def all_routers() -> list[Router]:
    """Every route group's routers. Imported here, lazily, so no hot function pays for it."""
    from meterplex.route_groups import ROUTE_GROUPS

    return [router for routers in ROUTE_GROUPS.values() for router in routers()]


def error_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses the edge can answer for any operation like this one."""
    statuses = [400, 413]  # validation and input limits (SPEC §0) reach every route
    if "requestBody" in operation:
        statuses.append(415)
    if operation.get("security"):
        statuses += [401, 403]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses.append(404)
    if method in WRITE_METHODS:
        statuses.append(409)
    return statuses


def finish(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["Error"] = error_schema
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # Powertools' default; our validation errors are 400
            if "204" in responses:
                responses["204"].pop("content", None)  # no body at all
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":  # every path parameter is part of a key
                    parameter.setdefault("schema", {}).setdefault("maxLength", MAX_KEY_BYTES)
            for status in error_statuses(method, operation):
                responses.setdefault(str(status), _error_response(HTTPStatus(status).phrase))
            responses.setdefault("default", _error_response("Any other error (429, 500, 503…)"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(document["paths"]):
            del schemas[unused]
    return document


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


@cache
def openapi_document() -> dict[str, Any]:
    app = create_app(*all_routers())
    generated = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url="/")],
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
    )
    return finish(json.loads(generated))


@cache
def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2)


@cache
def swagger_page() -> str:
    assets = Path(generate_swagger_html.__code__.co_filename).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = openapi_json().replace("</", "<\\/")
    return generate_swagger_html(spec, js, css, "", None, False)
