"""The SDK against the server's OpenAPI document (ADR 0055).

The document is fetched from `GET /api/openapi.json` through the real gateway and `docs_api`
function (in-process). The test fails:
* when a server operation has no client method and is not listed below as admin-only or internal
  (a new route fails it loudly, on purpose);
* when a client method's operation is not served and is not listed as awaiting its server
  branch — and when a listed one is served (strike it, so its schemas are checked from then on);
* when a request or response model disagrees with the document's schema: a field the server
  sends that the client does not read, a field the client requires that the server may omit, a
  request field the server does not accept (it would answer 400), or a different JSON type.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from meterplex_client import AsyncMeterplex, Meterplex
from meterplex_client.endpoint import Operation, Resource, operations_of
from tests.support.api_client import ApiClient

V1 = "/api/v1"
Key = tuple[str, str]  # (METHOD, path with every {param} written {})

# Server operations the SDK deliberately does not cover.
ADMIN_ONLY: dict[Key, str] = {
    ("PATCH", f"{V1}/admin/users/{{}}"): "account deactivation is the platform operator's, not a tenant's",
    ("GET", f"{V1}/admin/audit-logs"): "platform-wide audit (operators' console)",
    ("GET", f"{V1}/admin/audit-logs/{{}}"): "platform-wide audit (operators' console)",
    ("GET", f"{V1}/admin/dead-letter"): "operations runbook, not an application's job",
    ("GET", f"{V1}/admin/dead-letter/{{}}"): "operations runbook",
    ("POST", f"{V1}/admin/dead-letter/{{}}/retry"): "operations runbook",
    ("POST", f"{V1}/admin/dead-letter/{{}}/discard"): "operations runbook",
    ("GET", f"{V1}/admin/overview"): "the operators' console, not an application's job",
    ("POST", f"{V1}/admin/reconciliation/run"): "operations runbook",
    ("GET", f"{V1}/admin/reconciliation/runs"): "operations runbook",
    ("GET", f"{V1}/admin/reconciliation/runs/{{}}/issues"): "operations runbook",
    ("POST", f"{V1}/admin/reconciliation/issues/{{}}/acknowledge"): "operations runbook",
    ("POST", f"{V1}/admin/reconciliation/issues/{{}}/resolve"): "operations runbook",
}
INTERNAL: dict[Key, str] = {
    ("POST", f"{V1}/webhooks/stripe"): "called by Stripe, signed; never by a tenant",
    ("POST", f"{V1}/webhooks/fake"): "the fake payment provider's own callback",
}

# Client operations of SPEC §1–§8 whose server route is being built on another branch. When one
# is served, this test fails until it is struck from here (then its schemas are checked).
AWAITING_SERVER: set[Key] = {}
# Request fields of SPEC that a served route does not accept yet (same rule: strike when served).
AWAITING_FIELDS: dict[Key, set[str]] = {}
# Served operations whose answer the document declares as a free-form object (no model yet).
UNTYPED_ON_SERVER: set[Key] = {
    ("GET", f"{V1}/entitlements/{{}}/check"),
}
SUCCESS = ("200", "201", "202")
JSON_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def key_of(method: str, path: str) -> Key:
    return method.upper(), re.sub(r"\{[^}]+\}", "{}", path)


@cache
def document() -> dict[str, Any]:
    reply = ApiClient().get("/api/openapi.json")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def server_operations() -> dict[Key, dict[str, Any]]:
    return {
        key_of(method, path): op for path, ops in document()["paths"].items() for method, op in ops.items()
    }


def client_operations() -> dict[Key, tuple[str, Operation]]:
    mp = Meterplex(api_key="mp_live_contract", base_url="http://contract.invalid")
    found: dict[Key, tuple[str, Operation]] = {}
    for name, resource in vars(mp).items():
        if isinstance(resource, Resource):
            for method_name, api in operations_of(type(resource)).items():
                found[key_of(api.method, api.path)] = (f"mp.{name}.{method_name}", api)
    return found


# ---------------------------------------------------------------------- which operations
def test_every_server_operation_has_a_client_method_or_a_reason() -> None:
    client = client_operations()
    missing = sorted(k for k in server_operations() if k not in client and k not in ADMIN_ONLY | INTERNAL)
    assert not missing, f"server operations with no SDK method (add one, or list it with a reason): {missing}"


def test_every_client_operation_is_served_or_awaiting_its_server_branch() -> None:
    served = server_operations()
    unserved = sorted(k for k in client_operations() if k not in served and k not in AWAITING_SERVER)
    assert not unserved, f"SDK methods for operations the server does not have: {unserved}"
    landed = sorted(k for k in AWAITING_SERVER if k in served)
    assert not landed, f"served now: strike from AWAITING_SERVER so their schemas are checked: {landed}"
    listed_but_served = sorted((ADMIN_ONLY | INTERNAL).keys() & client_operations().keys())
    assert not listed_but_served


def test_async_client_has_the_same_resources() -> None:
    sync = Meterplex(api_key="mp_live_contract", base_url="http://contract.invalid")
    aio = AsyncMeterplex(api_key="mp_live_contract", base_url="http://contract.invalid")
    as_types = {n: type(r) for n, r in vars(sync).items() if isinstance(r, Resource)}
    assert as_types == {n: type(r) for n, r in vars(aio).items() if isinstance(r, Resource)}


# ---------------------------------------------------------------------- the schemas
def resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`, a single `allOf`, and drop a `null` branch of `anyOf` (an optional value)."""
    while True:
        if "$ref" in schema:
            schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
        elif len(schema.get("allOf", ())) == 1:
            schema = schema["allOf"][0]
        elif "anyOf" in schema and len([s for s in schema["anyOf"] if s.get("type") != "null"]) == 1:
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        else:
            return schema


def json_types(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    schema = resolve(schema, defs)
    if "anyOf" in schema or "oneOf" in schema:
        return set().union(*(json_types(s, defs) for s in schema.get("anyOf", schema.get("oneOf", []))))
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return {JSON_NAMES.get(type(v), type(v).__name__) for v in values if v is not None}
    kind = schema.get("type")
    if isinstance(kind, list):
        return {k for k in kind if k != "null"}
    if kind is None and "properties" in schema:
        return {"object"}
    return {kind} - {"null"} if kind else set()


def compare(
    where: str,
    client: dict[str, Any],
    cdefs: dict[str, Any],
    server: dict[str, Any],
    sdefs: dict[str, Any],
    *,
    request: bool,
    client_only: frozenset[str] = frozenset(),
    awaiting: frozenset[str] = frozenset(),
    depth: int = 0,
) -> list[str]:
    """Differences between a client schema and the server's, recursing into nested objects."""
    client, server = resolve(client, cdefs), resolve(server, sdefs)
    if "anyOf" in client:  # a union answer: the server's schema must match one branch
        branches = [
            compare(where, b, cdefs, server, sdefs, request=request, depth=depth) for b in client["anyOf"]
        ]
        return [] if any(not b for b in branches) else branches[0]
    if client.get("type") == "array" and server.get("type") == "array":
        return compare(
            f"{where}[]",
            client.get("items", {}),
            cdefs,
            server.get("items", {}),
            sdefs,
            request=request,
            depth=depth + 1,
        )
    cprops, sprops = client.get("properties"), server.get("properties")
    if not cprops or not sprops or depth > 6:
        return []
    problems: list[str] = []
    creq, sreq = set(client.get("required", [])), set(server.get("required", []))
    cnames = set(cprops) - client_only
    if request:
        extra = cnames - set(sprops) - awaiting
        problems += [f"{where}.{f}: sent by the SDK, unknown to the server (400)" for f in sorted(extra)]
        problems += [f"{where}.{f}: required by the server, not sent" for f in sorted(sreq - cnames)]
        landed = awaiting & set(sprops)
        problems += [f"{where}.{f}: accepted now: strike it from AWAITING_FIELDS" for f in sorted(landed)]
    else:
        problems += [f"{where}.{f}: sent by the server, not read" for f in sorted(set(sprops) - cnames)]
        problems += [f"{where}.{f}: required by the SDK, optional on the server" for f in sorted(creq - sreq)]
    for name in sorted(cnames & set(sprops)):
        ctypes, stypes = json_types(cprops[name], cdefs), json_types(sprops[name], sdefs)
        if ctypes and stypes and ctypes != stypes:
            problems.append(f"{where}.{name}: SDK type {sorted(ctypes)} ≠ server {sorted(stypes)}")
        problems += compare(
            f"{where}.{name}", cprops[name], cdefs, sprops[name], sdefs, request=request, depth=depth + 1
        )
    return problems


def client_schema(type_: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = TypeAdapter(type_).json_schema(by_alias=True)
    return schema, schema.get("$defs", {})


def client_only_fields(type_: Any) -> frozenset[str]:
    if isinstance(type_, type) and issubclass(type_, BaseModel):
        only = getattr(type_, "CLIENT_FIELDS", frozenset())
        return frozenset(type_.model_fields[f].alias or f for f in only)
    return frozenset()


def success_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    for status in SUCCESS:
        content = op.get("responses", {}).get(status, {}).get("content", {})
        if "application/json" in content:
            return dict(content["application/json"].get("schema", {}))
    return None


def served_pairs() -> list[tuple[Key, str, Operation, dict[str, Any]]]:
    server = server_operations()
    return [
        (k, name, api, server[k]) for k, (name, api) in sorted(client_operations().items()) if k in server
    ]


@pytest.mark.parametrize(
    ("key", "name", "api", "op"), served_pairs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_response_model_matches_the_document(key: Key, name: str, api: Operation, op: dict[str, Any]) -> None:
    sdefs = document()["components"]["schemas"]
    server = success_schema(op)
    if api.response is type(None) or server is None:
        return
    typed = bool(resolve(server, sdefs).get("properties")) or "anyOf" in resolve(server, sdefs)
    if key in UNTYPED_ON_SERVER:
        assert not typed, f"{name}: the server types its answer now: strike it from UNTYPED_ON_SERVER"
        return
    assert typed, f"{name}: the server answers a free-form object; list it in UNTYPED_ON_SERVER"
    client, cdefs = client_schema(api.response)
    model = getattr(api.response, "__pydantic_generic_metadata__", {}).get("args") or (api.response,)
    only = frozenset().union(*(client_only_fields(m) for m in model))
    problems = compare(name, client, cdefs, server, sdefs, request=False, client_only=only)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("key", "name", "api", "op"), served_pairs(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_request_model_matches_the_document(key: Key, name: str, api: Operation, op: dict[str, Any]) -> None:
    sdefs = document()["components"]["schemas"]
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if api.body is None:
        server_required = bool(content) and op.get("requestBody", {}).get("required", False)
        assert not server_required, f"{name}: the server requires a body the SDK does not send"
        return
    assert content, f"{name}: the SDK sends a body the server does not take"
    client, cdefs = client_schema(api.body)
    awaiting = frozenset(AWAITING_FIELDS.get(key, set()))
    problems = compare(name, client, cdefs, content["schema"], sdefs, request=True, awaiting=awaiting)
    assert not problems, "\n".join(problems)
