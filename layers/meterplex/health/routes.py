"""GET /health — 200 when every dependency is up, 503 otherwise (no auth, no API prefix)."""

from typing import Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import ConfigDict, Field

from meterplex.health.checks import UP, dependency_status
from meterplex.platform.api import JSON, ApiResponse
from meterplex.platform.clock import iso, system_clock

router = Router()


class DependencyOut(ApiResponse):
    """One dependency's check; extra figures (table, brokers, topics) depend on the dependency."""

    model_config = ConfigDict(extra="allow")
    status: Literal["up", "down"]
    latency_ms: int
    error: str | None = Field(None, description="Why it is down", exclude_if=lambda v: v is None)


class HealthOut(ApiResponse):
    status: Literal["ok", "degraded"]
    checks: dict[str, DependencyOut]
    timestamp: str


@router.get(
    "/health",
    summary="Dependency health",
    tags=["Health"],
    responses={
        200: {"description": "Every dependency is up", "content": {JSON: {"model": HealthOut}}},
        503: {"description": "A dependency is down", "content": {JSON: {"model": HealthOut}}},
    },
)
def health() -> Response[HealthOut]:
    checks = {name: DependencyOut.model_validate(c) for name, c in dependency_status().items()}
    healthy = all(c.status == UP for c in checks.values())
    body = HealthOut(status="ok" if healthy else "degraded", checks=checks, timestamp=iso(system_clock.now()))
    return Response(status_code=200 if healthy else 503, content_type=JSON, body=body)
