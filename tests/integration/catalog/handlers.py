"""Invoke HTTP functions in-process with API Gateway REST proxy events (v1), as the gateway would
after the authorizer: `requestContext.authorizer` carries `Principal(...).to_context()`."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from infra.local.aws import linearize_dynamodb_writes
from infra.local.functions import LambdaContext
from meterplex.platform.auth import Principal, Role
from tests.support.api_client import Reply
from tests.support.environments import in_parallel_environments
from tests.support.identities import stored_api_key, stored_user

ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")


@cache
def handler_of(function: str) -> Any:
    """The handler, with no per-function lock (unlike infra.local.functions.FunctionRunner). One
    handler serves one request at a time, as a Lambda execution environment does: Powertools keeps
    the request being resolved in class-level and app-level state, so concurrent calls must each
    run in an environment of their own (`in_parallel`), never on threads sharing this one."""
    path = ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"fn_{function}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def event(
    method: str,
    path: str,
    body: Any = None,
    *,
    principal: Principal | None = None,
    tenant: str | None = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    url = urlsplit(path)
    query = dict(p.split("=", 1) for p in url.query.split("&") if p) if url.query else None
    headers = {"content-type": "application/json"} | (headers or {})
    if tenant:
        headers["x-tenant-id"] = tenant
    context: dict[str, Any] = {"requestId": str(uuid.uuid4()), "identity": {"sourceIp": "10.0.0.1"}}
    if principal is not None:
        context["authorizer"] = principal.to_context()
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "requestContext": context,
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }


def in_parallel(function: str, request: Callable[..., T], arguments: Sequence[tuple[Any, ...]]) -> list[T]:
    """`request(*args)` for each args, all at once, each in its own execution environment (a
    forked process: `tests.support.environments`), so their writes really race on the moto server.
    `function`'s handler is loaded first, so every environment starts warm. Results must be
    picklable (a Reply, a tuple)."""
    handler_of(function)
    return in_parallel_environments(request, arguments)


def call(function: str, method: str, path: str, body: Any = None, **kw: Any) -> Reply:
    response = handler_of(function)(event(method, path, body, **kw), LambdaContext(function))
    text = response.get("body") or ""
    headers = {k.lower(): v[0] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers |= {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return Reply(response["statusCode"], json.loads(text) if text else None, headers)


def admin() -> Principal:
    """A platform admin, stored (writes re-check the caller against the current state)."""
    return stored_user(platform_admin=True)


def user(memberships: dict[str, Role] | None = None) -> Principal:
    """A user with these memberships, stored with its tenants."""
    return stored_user(memberships)


def api_key(tenant_id: str) -> Principal:
    """An API key of the tenant, stored."""
    return stored_api_key(tenant_id)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_key(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def serialize_moto_writes() -> None:
    """moto's writes are linearized by the local cloud's MotoServer (infra.local.aws); kept so
    tests state the guarantee they rely on."""
    linearize_dynamodb_writes()
