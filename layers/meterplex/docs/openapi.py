"""Build the merged OpenAPI document and the Swagger UI page.

Every route group's routers are included in one resolver used only for schema generation (never
for routing), so `/api/openapi.json` covers the whole API while each function routes only its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

from meterplex.platform.api import create_app

TITLE = "Meterplex API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Usage metering, entitlements and billing. Authenticate with `Authorization: Bearer <access JWT>` "
    "plus `x-tenant-id` for tenant routes, or `Authorization: Bearer mp_live_…` (an API key)."
)


def all_routers() -> list[Router]:
    """Every route group's routers. Imported here, lazily, so no hot function pays for it."""
    from meterplex.route_groups import ROUTE_GROUPS

    return [router for routers in ROUTE_GROUPS.values() for router in routers()]


@cache
def openapi_json() -> str:
    app = create_app(*all_routers())
    return app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        servers=[Server(url="/")],
    )


@cache
def swagger_page() -> str:
    assets = Path(generate_swagger_html.__code__.co_filename).parent
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = openapi_json().replace("</", "<\\/")
    return generate_swagger_html(spec, js, css, "", None, False)
