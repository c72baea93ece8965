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
    from meterplex.audit import routes as audit
    from meterplex.identity.routes import api_keys, auth, tenants, users

    return [auth.router, tenants.router, users.router, api_keys.router, audit.router]


def _catalog() -> list[Router]:
    from meterplex.catalog.routes import entitlements, features, plans, prices

    return [plans.router, prices.router, features.router, entitlements.router]


def _subscriptions() -> list[Router]:
    from meterplex.subscriptions.routes import subscriptions

    return [subscriptions.router]


def _entitlements() -> list[Router]:
    from meterplex.entitlements import routes

    return [routes.router]


def _usage() -> list[Router]:
    from meterplex.usage import routes

    return [routes.router]


def _billing() -> list[Router]:
    from meterplex.billing.routes import invoices, ledger

    return [invoices.router, ledger.router]


ROUTE_GROUPS: dict[str, Callable[[], list[Router]]] = {
    "docs_api": _docs,
    "health_api": _health,
    "identity_api": _identity,
    "catalog_api": _catalog,
    "subscriptions_api": _subscriptions,
    "entitlements_api": _entitlements,
    "usage_api": _usage,
    "billing_api": _billing,
}
