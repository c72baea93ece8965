"""Request and response bodies of the /admin/clock routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from meterplex.platform.api import ApiModel, ApiResponse
from meterplex.platform.clock import iso
from meterplex.testclock.service import AdvanceResult, ClockView


class AdvanceRequest(ApiModel):
    """Exactly one of `to` or a duration (`days` and/or `hours`); the clock only moves forward."""

    to: datetime | None = Field(None, description="ISO 8601 target instant (UTC when no offset is given)")
    days: Annotated[int, Field(ge=0, le=3660)] | None = None
    hours: Annotated[int, Field(ge=0, le=87_840)] | None = None
    freeze: bool = Field(True, description="Stay frozen at the target (default), or run on from it")

    @field_validator("to")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        has_duration = self.days is not None or self.hours is not None
        if (self.to is None) == (not has_duration):
            raise ValueError("give exactly one of `to` or a duration (`days`, `hours`)")
        if has_duration and not self.duration:
            raise ValueError("the duration must be positive")
        return self

    @property
    def duration(self) -> timedelta | None:
        if self.days is None and self.hours is None:
            return None
        return timedelta(days=self.days or 0, hours=self.hours or 0)


class ClockOut(ApiResponse):
    now: str = Field(description="Business time, ISO 8601 UTC")
    frozen: bool

    @classmethod
    def of(cls, view: ClockView) -> ClockOut:
        return cls(now=iso(view.now), frozen=view.frozen)


class FiringOut(ApiResponse):
    schedule: str
    at: str = Field(description="The fire time the schedule's function ran at")


class AdvanceOut(ClockOut):
    target: str = Field(description="Where this advance is going")
    complete: bool = Field(description="False (HTTP 202): the time budget ran out; repeat with `to` = target")
    fired: list[FiringOut]

    @classmethod
    def of_result(cls, result: AdvanceResult) -> AdvanceOut:
        return cls(
            now=iso(result.now),
            frozen=result.frozen,
            target=iso(result.target),
            complete=result.complete,
            fired=[FiringOut(schedule=f.schedule, at=iso(f.at)) for f in result.fired],
        )
