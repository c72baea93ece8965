"""The OpenAPI document (what the fuzzer and the SDK read) agrees with the topology and types
every answer: path parameter names, security, response models, the error envelope, ranges."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra import topology
from meterplex.docs.openapi import openapi_document

SECURITY = {
    topology.Auth.USER: [{"bearerJwt": []}],
    topology.Auth.TENANT: [{"bearerJwt": [], "tenantId": []}, {"apiKey": []}],
    topology.Auth.API_KEY: [{"apiKey": []}],
}
DOCUMENTED = {(r.method, r.path): r for r in topology.ROUTES if r.function != "docs_api"}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in openapi_document()["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return resolve(openapi_document()["components"]["schemas"][ref.rsplit("/", 1)[1]])


def test_operations_are_exactly_the_topology_routes_with_the_same_parameter_names() -> None:
    assert {(m, p) for m, p, _ in operations()} == set(DOCUMENTED)
    for method, path, op in operations():
        in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert in_path == {s[1:-1] for s in path.split("/") if s.startswith("{")}, (method, path)


def test_security_is_the_topology_auth() -> None:
    for method, path, op in operations():
        auth = DOCUMENTED[(method, path)].auth
        assert op.get("security") == SECURITY.get(auth), (method, path, auth)
    schemes = openapi_document()["components"]["securitySchemes"]
    assert schemes["bearerJwt"]["scheme"] == schemes["apiKey"]["scheme"] == "bearer"
    assert schemes["tenantId"] == {"type": "apiKey", "in": "header", "name": "x-tenant-id"} | {
        "description": schemes["tenantId"]["description"]
    }


def test_every_success_answer_is_a_typed_model() -> None:
    for method, path, op in operations():
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response
                continue
            schema = resolve(response["content"]["application/json"]["schema"])
            assert "oneOf" in schema or schema.get("type") == "object", (method, path, schema)


def test_every_error_status_answers_the_envelope_and_422_is_gone() -> None:
    for method, path, op in operations():
        responses = op["responses"]
        assert "422" not in responses and "default" in responses, (method, path)
        expected = {"400", "413"} | ({"401", "403"} if op.get("security") else set())
        if "requestBody" in op:
            expected.add("415")
        assert expected <= set(responses), (method, path)
        for status, response in responses.items():
            if (status[0] in "45" and not (path == "/health" and status == "503")) or status == "default":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }
    error = openapi_document()["components"]["schemas"]["Error"]
    assert set(error["required"]) == {
        "statusCode",
        "error",
        "code",
        "message",
        "correlationId",
        "timestamp",
        "path",
    }


def integers(
    schema: dict[str, Any], where: str, seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dict]]:
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return
        yield from integers(resolve(schema), where, seen | {ref})
        return
    if schema.get("type") == "integer":
        yield where, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from integers(option, where, seen)
    for name, prop in (schema.get("properties") or {}).items():
        yield from integers(prop, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from integers(schema["items"], f"{where}[]", seen)


def test_every_integer_a_request_sends_has_a_documented_range() -> None:
    for method, path, op in operations():
        sources = [(p["name"], p["schema"]) for p in op.get("parameters", [])]
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body:
            sources.append(("body", body))
        for name, schema in sources:
            for where, integer in integers(schema, name):
                assert "maximum" in integer and "minimum" in integer, (method, path, where)


def test_every_path_parameter_is_bounded_to_a_key_part() -> None:
    for method, path, op in operations():
        for param in op.get("parameters", []):
            if param["in"] == "path":
                assert 0 < param["schema"]["maxLength"] <= 255, (method, path, param["name"])


@pytest.mark.parametrize("path", ["/api/v1/entitlements/{featureKey}/check"])
def test_the_hot_path_check_answer_is_the_four_spec_variants(path: str) -> None:
    op = openapi_document()["paths"][path]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    variants = {resolve(v)["properties"]["type"]["const"] for v in schema["oneOf"]}
    assert variants == {"UNKNOWN", "BOOLEAN", "QUOTA", "METERED"}
    assert schema["discriminator"]["propertyName"] == "type"
