"""API Gateway resource matching in the local gateway."""

from infra import topology
from infra.local.routing import match_route
from infra.topology import Auth, Route


def test_match_route_literal_segment_beats_parameter() -> None:
    found = match_route(topology.ROUTES, "GET", "/api/v1/tenants/slug/acme")
    assert found is not None
    assert found.route.path == "/api/v1/tenants/slug/{slug}"
    assert found.path_parameters == {"slug": "acme"}


def test_match_route_me_context_is_not_a_tenant_id() -> None:
    found = match_route(topology.ROUTES, "GET", "/api/v1/tenants/me/context")
    assert found is not None and found.route.path == "/api/v1/tenants/me/context"


def test_match_route_parameter_captures_the_segment() -> None:
    found = match_route(topology.ROUTES, "PATCH", "/api/v1/tenants/t-123")
    assert found is not None
    assert (found.route.path, found.path_parameters) == ("/api/v1/tenants/{id}", {"id": "t-123"})


def test_match_route_literal_wins_regardless_of_declaration_order() -> None:
    routes = (Route("GET", "/a/{id}", "f1", Auth.USER), Route("GET", "/a/me", "f2", Auth.USER))
    found = match_route(routes, "GET", "/a/me")
    assert found is not None and found.route.function == "f2"


def test_match_route_method_mismatch_is_no_match() -> None:
    assert match_route(topology.ROUTES, "DELETE", "/health") is None


def test_match_route_unknown_path_or_extra_segment_is_no_match() -> None:
    assert match_route(topology.ROUTES, "GET", "/api/v1/nope") is None
    assert match_route(topology.ROUTES, "GET", "/api/v1/tenants/t-1/extra/more") is None


def test_match_route_greedy_proxy_takes_the_rest() -> None:
    routes = (Route("ANY", "/files/{proxy+}", "f", Auth.PUBLIC),)
    found = match_route(routes, "PUT", "/files/a/b%20c")
    assert found is not None and found.path_parameters == {"proxy": "a/b c"}
