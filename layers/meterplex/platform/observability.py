"""Logger, Metrics and Tracer, created once per process (Powertools reads POWERTOOLS_* settings).

The Tracer is created on first use: it imports the X-Ray SDK (~160 ms of cold start), so the hot
path (entitlements_api) does not import it — Lambda's active tracing still records its invocations.

Correlation (ADR 0105): the correlation id of what is being handled — a request's
`x-correlation-id`, or the one a consumed record carries — is the Logger's `correlation_id` key
(`logger.set_correlation_id`), so every log line has it and every domain event written meanwhile
stores it (`current_correlation_id`). The X-Ray trace header of the invocation, when Lambda gives
one, is stored next to what the invocation writes (`current_trace_header`) and travels on Kafka.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

NAMESPACE = "Meterplex"
CORRELATION_HEADER = "x-correlation-id"  # HTTP requests, Kafka messages and SQS message attributes alike
CORRELATION_KEY = "correlation_id"  # the Logger's key (Powertools' `set_correlation_id`)
TRACE_HEADER = "x-amzn-trace-id"  # the X-Ray trace header on Kafka messages
TRACE_ENV = "_X_AMZN_TRACE_ID"  # set by the Lambda runtime for each invocation (active tracing)

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
_tracer: Tracer | None = None


def current_correlation_id() -> str | None:
    """The correlation id of the request or record being handled (None outside of one): the one
    `correlated` set in this context, else the Logger's."""
    value = logger.thread_safe_get_current_keys().get(CORRELATION_KEY) or logger.get_correlation_id()
    return str(value) if value else None


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Handle one message under its correlation id in this context only: for functions that handle
    several messages at once on threads (each in a copy of the invocation's context), where the
    Logger's own keys (`set_correlation_id`) are shared by the whole process. Its log lines and
    the events built meanwhile carry the id (`current_correlation_id`)."""
    logger.thread_safe_append_keys(**{CORRELATION_KEY: correlation_id})
    try:
        yield
    finally:
        logger.thread_safe_remove_keys([CORRELATION_KEY])


def current_trace_header() -> str | None:
    """This invocation's X-Ray trace header (`Root=…;Parent=…;Sampled=…`), None when untraced."""
    return os.environ.get(TRACE_ENV) or None


def message_headers(correlation_id: str | None, trace_header: str | None) -> list[tuple[str, bytes]]:
    """The Kafka headers that carry a correlation id and a trace header (only those it has)."""
    pairs = ((CORRELATION_HEADER, correlation_id), (TRACE_HEADER, trace_header))
    return [(name, value.encode()) for name, value in pairs if value]


def __getattr__(name: str) -> Any:
    """`from meterplex.platform.observability import tracer` creates the Tracer lazily."""
    global _tracer
    if name == "tracer":
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer()
        return _tracer
    raise AttributeError(name)
