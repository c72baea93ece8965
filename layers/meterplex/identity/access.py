"""The write guard: writes act on the caller as it is now, not as the authorizer cached it.

API Gateway caches the authorizer's principal per token (`MP_AUTHORIZER_CACHE_TTL`, ≤ 30 s by
default), so a revoked session, a deactivated account or membership, a revoked key or a suspended
tenant would still be honoured for that long. Before every write (any method but GET/HEAD/OPTIONS)
— and before the reads that show keys (`recheck` as a route middleware) — the guard re-checks the
principal against the current state (`identity.principals.recheck`: one BatchGetItem for a caller
acting in a tenant) and puts the fresh one on the event, so `principal_of()` and `tenant_access()`
see it (`Principal.rechecked`; on writes `Principal.writing`, so a tenant that is not ACTIVE is
then refused by `tenant_access`).

Route groups include `write_guard_router()` (route_groups.py): a Router with no routes whose
middleware Powertools applies to every route of the function it is included in. The entitlement
hot path does not include it: its consume stays one conditional write, bounded by the cache TTL
instead (ADR 0031).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from meterplex.identity.principals import recheck as recheck_principal
from meterplex.identity.repository import IdentityRepository
from meterplex.platform.auth import TENANT_HEADER, Principal
from meterplex.platform.clock import system_clock

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Next = Callable[[Any], Response]


@cache
def _repository() -> IdentityRepository:
    return IdentityRepository()


def refresh_principal(app: Any, *, writing: bool) -> Principal | None:
    """Re-check the request's principal now and replace it on the event; None when the route was
    reached without one (public routes)."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer")
    if not context:
        return None
    cached = Principal.from_context(context)
    if cached.rechecked:
        return cached
    tenant_id = app.current_event.headers.get(TENANT_HEADER) or None
    fresh = recheck_principal(cached, tenant_id, _repository(), system_clock, writing=writing)
    principal_id = context.get("principalId")
    context.clear()
    context.update(fresh.to_context())
    if principal_id is not None:
        context["principalId"] = principal_id
    return fresh


def recheck(app: Any, next_middleware: Next) -> Response:
    """Route middleware: re-check the principal whatever the method (reads that show keys)."""
    refresh_principal(app, writing=app.current_event.http_method.upper() not in READ_METHODS)
    return next_middleware(app)


def _names_an_unknown_tenant(app: Any) -> bool:
    """A read whose x-tenant-id is not among the cached principal's tenants: the membership may be
    newer than the authorizer's cache (a tenant just created or joined), so re-check it before
    answering 403 — only this negative path pays a read."""
    tenant_id = app.current_event.headers.get(TENANT_HEADER)
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer")
    if not tenant_id or not context:
        return False
    cached = Principal.from_context(context)
    return cached.is_user and not cached.rechecked and tenant_id not in cached.memberships


def guard_writes(app: Any, next_middleware: Next) -> Response:
    if app.current_event.http_method.upper() not in READ_METHODS:
        refresh_principal(app, writing=True)
    elif _names_an_unknown_tenant(app):
        refresh_principal(app, writing=False)
    return next_middleware(app)


def write_guard_router() -> Router:
    """Include it in a function's routers: every write of that function is re-checked."""
    router = Router()
    router.use(middlewares=[guard_writes])
    return router
