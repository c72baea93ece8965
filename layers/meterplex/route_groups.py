"""Which routers each HTTP function serves. Handlers and the docs read this one table.

Values are callables so that importing this module stays cheap: a function imports only its own
routers.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler.api_gateway import Router


def _docs() -> list[Router]:
    from meterplex.docs.routes import router

    return [router]


def _health() -> list[Router]:
    from meterplex.health.routes import router

    return [router]


def _identity() -> list[Router]:
    from meterplex.identity.routes import api_keys, auth, tenants, users

    return [auth.router, tenants.router, users.router, api_keys.router]


ROUTE_GROUPS: dict[str, Callable[[], list[Router]]] = {
    "docs_api": _docs,
    "health_api": _health,
    "identity_api": _identity,
}
