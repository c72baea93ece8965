"""Which routers each HTTP function serves. Handlers and the docs read this one table.

Values are callables so that importing this module stays cheap: a function imports only its own
routers. Every group that writes includes identity's `write_guard_router()` (no routes; its
middleware re-checks the caller against the current state before each write: ADR 0031) — all but
the entitlement hot path, whose consume is bounded by the authorizer cache instead.
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
    from meterplex.identity.access import write_guard_router
    from meterplex.identity.routes import admin_users, api_keys, auth, tenants, users

    routers = [auth.router, tenants.router, users.router, api_keys.router, audit.router, admin_users.router]
    return [*routers, write_guard_router()]


def _catalog() -> list[Router]:
    from meterplex.catalog.routes import entitlements, features, plans, prices
    from meterplex.identity.access import write_guard_router

    return [plans.router, prices.router, features.router, entitlements.router, write_guard_router()]


def _subscriptions() -> list[Router]:
    from meterplex.identity.access import write_guard_router
    from meterplex.subscriptions.routes import subscriptions

    return [subscriptions.router, write_guard_router()]


def _entitlements() -> list[Router]:
    from meterplex.entitlements import routes

    return [routes.router]


def _usage() -> list[Router]:
    from meterplex.identity.access import write_guard_router
    from meterplex.usage import routes

    return [routes.router, write_guard_router()]


def _admin() -> list[Router]:
    from meterplex.admin import routes as admin
    from meterplex.audit import admin_routes as audit_logs
    from meterplex.identity.access import write_guard_router
    from meterplex.testclock import routes as clock

    return [clock.router, audit_logs.router, admin.router, write_guard_router()]


def _billing() -> list[Router]:
    from meterplex.billing.routes import invoices, ledger
    from meterplex.identity.access import write_guard_router

    return [invoices.router, ledger.router, write_guard_router()]


def _webhook_endpoints() -> list[Router]:
    from meterplex.identity.access import write_guard_router
    from meterplex.webhooks import routes

    return [routes.router, write_guard_router()]


def _reconciliation() -> list[Router]:
    from meterplex.identity.access import write_guard_router
    from meterplex.reconciliation import routes

    return [routes.router, write_guard_router()]


def _payments() -> list[Router]:
    from meterplex.identity.access import write_guard_router
    from meterplex.payments.routes import payments

    return [payments.router, write_guard_router()]


def _webhooks() -> list[Router]:
    from meterplex.payments.routes import webhooks

    return [webhooks.router]  # public: the providers call it, nobody is re-checked


ROUTE_GROUPS: dict[str, Callable[[], list[Router]]] = {
    "docs_api": _docs,
    "health_api": _health,
    "identity_api": _identity,
    "catalog_api": _catalog,
    "subscriptions_api": _subscriptions,
    "entitlements_api": _entitlements,
    "usage_api": _usage,
    "admin_api": _admin,
    "billing_api": _billing,
    "webhook_endpoints_api": _webhook_endpoints,
    "reconciliation_api": _reconciliation,
    "payments_api": _payments,
    "webhooks_api": _webhooks,
}
