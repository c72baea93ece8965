"""Logger, Metrics and Tracer, created once per process (Powertools reads POWERTOOLS_* settings)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "Meterplex"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()
