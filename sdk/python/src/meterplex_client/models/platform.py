"""Health, the tenant's audit trail (SPEC §8.4) and the local cloud's test clock (SPEC §8.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex_client.models.base import Body, Model, Page


class Health(Model):
    status: str
    checks: dict[str, Any]
    timestamp: datetime


class AuditEvent(Model):
    """One write: `action` create/update/delete or the verb; `before`/`after` secrets redacted."""

    id: str
    tenant_id: str
    action: str
    actor: str
    resource: str | None
    resource_id: str | None
    type: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    correlation_id: str | None
    occurred_at: str


class AuditEvents(Page[AuditEvent]):
    pass


class ClockState(Model):
    now: datetime
    frozen: bool


class Firing(Model):
    schedule: str
    at: datetime


class ClockAdvance(ClockState):
    """`complete` False (HTTP 202): the server's time budget ran out between two firings; advance
    again with `to=target` to go on (`Clock.advance_to_end` does)."""

    target: datetime
    complete: bool
    fired: list[Firing]


class AdvanceClockRequest(Body):
    to: datetime | None = None
    days: int | None = None
    hours: int | None = None
    freeze: bool | None = None
