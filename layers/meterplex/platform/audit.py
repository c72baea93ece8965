"""Audit events of writes: who did what to which resource, with secrets redacted. They travel
through the outbox to Kafka, where `audit_writer` keeps the tenant's audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterplex.platform.events import DomainEvent

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(r"password|secret|token|hash|apikey|api_key|key$", re.IGNORECASE)


def redact(values: dict[str, Any]) -> dict[str, Any]:
    """A copy of `values` with every secret-looking field replaced, recursively."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if _SECRET_NAME.search(name):
            clean[name] = REDACTED
        elif isinstance(value, dict):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


@dataclass(frozen=True)
class Actor:
    """Who is acting, and the request it came with (for the audit trail)."""

    id: str  # "user:<id>", "apikey:<id>" or "system"
    correlation_id: str | None = None
    ip: str | None = None


SYSTEM = Actor("system")


def event(
    action: str,
    *,
    actor: Actor,
    at: datetime,
    tenant_id: str | None,
    resource: str,
    resource_id: str,
    changes: dict[str, Any] | None = None,
) -> DomainEvent:
    return DomainEvent.new(
        action,
        tenant_id=tenant_id,
        at=at,
        actor=actor.id,
        correlation_id=actor.correlation_id,
        data={"resource": resource, "resourceId": resource_id, "changes": redact(changes or {})},
    )
