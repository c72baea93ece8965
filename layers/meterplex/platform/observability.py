"""Logger, Metrics and Tracer, created once per process (Powertools reads POWERTOOLS_* settings).

The Tracer is created on first use: it imports the X-Ray SDK (~160 ms of cold start), so the hot
path (entitlements_api) does not import it — Lambda's active tracing still records its invocations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

NAMESPACE = "Meterplex"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
_tracer: Tracer | None = None


def __getattr__(name: str) -> Any:
    """`from meterplex.platform.observability import tracer` creates the Tracer lazily."""
    global _tracer
    if name == "tracer":
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer()
        return _tracer
    raise AttributeError(name)
