"""GET /health — 200 when every dependency is up, 503 otherwise (no auth, no API prefix)."""

import json

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from meterplex.health.checks import UP, dependency_status
from meterplex.platform.clock import iso, system_clock

router = Router()


@router.get("/health", summary="Dependency health", tags=["Health"])
def health() -> Response[str]:
    checks = dependency_status()
    healthy = all(c["status"] == UP for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks, "timestamp": iso(system_clock.now())}
    return Response(
        status_code=200 if healthy else 503, content_type="application/json", body=json.dumps(body)
    )
