"""API Gateway resource matching: method + path template, literal segments before parameters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

GREEDY_SUFFIX = "+}"


@dataclass(frozen=True)
class RouteMatch:
    route: Any  # topology.Route (or any object with method, path, function, auth)
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _match_template(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """(specificity, parameters) when `path` fits `template`; None otherwise.

    Specificity ranks each segment (2 literal, 1 parameter, 0 greedy) so that, as in API Gateway,
    `/tenants/slug/{slug}` wins over `/tenants/{id}/...` and `/tenants/me/context` over `{id}`.
    """
    wanted, actual = _segments(template), _segments(path)
    params: dict[str, str] = {}
    rank: list[int] = []
    for index, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith(GREEDY_SUFFIX):
            rest = actual[index:]
            if not rest:
                return None
            params[segment[1:-2]] = unquote("/".join(rest))
            return (*rank, 0), params
        if index >= len(actual):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = unquote(actual[index])
            rank.append(1)
        elif segment == actual[index]:
            rank.append(2)
        else:
            return None
    if len(actual) != len(wanted):
        return None
    return tuple(rank), params


def match_route(routes: Iterable[Any], method: str, path: str) -> RouteMatch | None:
    """The most specific route for `method` `path`, or None (the caller falls back to `/{proxy+}`)."""
    best: tuple[tuple[int, ...], RouteMatch] | None = None
    for route in routes:
        if route.method.upper() not in {method.upper(), "ANY"}:
            continue
        found = _match_template(route.path, path)
        if found is None:
            continue
        rank, params = found
        if best is None or rank > best[0]:
            best = (rank, RouteMatch(route, params))
    return best[1] if best else None
