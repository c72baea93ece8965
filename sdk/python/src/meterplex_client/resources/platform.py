"""Health, the tenant's audit trail, and the test clock of the local cloud (platform admin)."""

from __future__ import annotations

from datetime import datetime

from meterplex_client.endpoint import Args, M, Resource, endpoint
from meterplex_client.models.platform import (
    AdvanceClockRequest,
    AuditEvents,
    ClockAdvance,
    ClockState,
    Health,
)
from meterplex_client.resources.paging import page_params


class Platform(Resource[M]):
    @endpoint("GET", "/health", response=Health)
    def health(self) -> Args:
        """DynamoDB and Kafka reachability (the local cloud answers 503 when one is down)."""
        return Args(authenticated=False)


class AuditEventsResource(Resource[M]):
    @endpoint("GET", "/audit-events", response=AuditEvents)
    def list(self, *, limit: int | None = None, cursor: str | None = None, page: int | None = None) -> Args:
        """The tenant's audit events, newest first (OWNER/ADMIN); pass `meta.next_cursor` back as
        `cursor` for the next page."""
        return Args(params=page_params(page, limit, cursor))


class Clock(Resource[M]):
    """The business clock of the local cloud and test stages (SPEC §8.1; off in production)."""

    @endpoint("GET", "/admin/clock", response=ClockState)
    def get(self) -> Args:
        return Args()

    @endpoint("POST", "/admin/clock/advance", response=ClockAdvance, body=AdvanceClockRequest)
    def advance(
        self,
        *,
        to: datetime | None = None,
        days: int | None = None,
        hours: int | None = None,
        freeze: bool | None = None,
    ) -> Args:
        """Move business time forward; every schedule passed runs, in time order, before the answer.
        A long advance may answer `complete=False` (the server's time budget): call again with
        `to=answer.target` to go on."""
        return Args(json=AdvanceClockRequest(to=to, days=days, hours=hours, freeze=freeze))

    @endpoint("POST", "/admin/clock/reset", response=ClockState)
    def reset(self) -> Args:
        """Back to real time."""
        return Args()
