"""An in-process API client: the local gateway (routing, authorizer, handlers) without sockets.

Requests travel exactly the path they take behind API Gateway — route table from the topology,
the real authorizer function, the real handler — so integration tests exercise the whole edge.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from infra import topology
from infra.local.api_events import HttpRequest
from infra.local.functions import FunctionRunner
from infra.local.gateway import Gateway

_runner: FunctionRunner | None = None


def runner() -> FunctionRunner:
    global _runner
    if _runner is None:
        _runner = FunctionRunner()
    return _runner


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    def fields(self) -> set[str]:
        return {d["field"] for d in (self.body or {}).get("details", [])}


class ApiClient:
    """Each client looks like one caller machine (its own source IP, so rate limits are per test).
    `authorizer_cache_ttl_s` caches authorizer results per token as API Gateway does (default: the
    MP_AUTHORIZER_CACHE_TTL setting, 0 in tests)."""

    def __init__(self, source_ip: str | None = None, *, authorizer_cache_ttl_s: float | None = None) -> None:
        self.gateway = Gateway(
            topology.ROUTES,
            runner().invoke,
            fallback_function=topology.FALLBACK_FUNCTION,
            cache_ttl_s=authorizer_cache_ttl_s,
        )
        self.source_ip = (
            source_ip or f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        raw_body: bytes | None = None,
    ) -> Reply:
        pairs = [("content-type", "application/json")]
        if token:
            pairs.append(("authorization", f"Bearer {token}"))
        if tenant:
            pairs.append(("x-tenant-id", tenant))
        pairs += list((headers or {}).items())
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self.gateway.handle(
            HttpRequest(method, path, urlencode(query or {}), pairs, data, source_ip=self.source_ip)
        )
        text = response.body.decode() if response.body else ""
        try:
            parsed = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        return Reply(response.status, parsed, {k.lower(): v for k, v in response.headers})

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)
