"""POST /api/v1/usage/events: a batch of usage events from the tenant's API key (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import Field, field_validator

from meterplex.platform import business_metrics
from meterplex.platform.api import (
    AUTH_API_KEY,
    ApiModel,
    ApiResponse,
    actor_of,
    correlation_id_of,
    principal_of,
    tenant_header_of,
)
from meterplex.platform.auth import AuthType, tenant_access
from meterplex.platform.errors import Forbidden
from meterplex.platform.ids import new_id
from meterplex.platform.limits import BODY_LIMIT_EXTENSION, KeyPart, metadata_size
from meterplex.platform.settings import UsageSettings, load
from meterplex.usage.models import IncomingEvent
from meterplex.usage.rules import Caller, Status
from meterplex.usage.service import UsageIngestService

router = Router()
TAGS = ["Usage"]
MAX_EVENTS = 1000
MAX_METADATA_BYTES = 2048  # a usage item stays small; a transaction of 100 stays far below 4 MB
# 1,000 events of at most ~2.5 KB each (id, feature, metadata): the route takes up to 5 MiB, under
# Lambda's 6 MB synchronous payload (SPEC §0: "the usage batch route allows its 1,000 events").
MAX_BATCH_BODY_BYTES = 5 * 1_048_576
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
FAR_PAST = datetime.min.replace(tzinfo=UTC)
UsageMetadata = Annotated[
    dict[str, Any],
    Field(description=f"free-form JSON object, at most {MAX_METADATA_BYTES:,} bytes serialized"),
    metadata_size(MAX_METADATA_BYTES),
]


class UsageEventIn(ApiModel):
    event_id: Annotated[KeyPart, Field(description="Unique per tenant (any string of 1–255 bytes)")]
    feature: Annotated[KeyPart, Field(max_length=100, description="The feature's lookup key")]
    amount: Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]
    timestamp: Annotated[datetime, Field(description="ISO 8601; UTC when no offset is given")]
    metadata: UsageMetadata | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # 9999-12-31T23:59:59-05:00 has no UTC datetime: it is as far in the future (or past)
            # as a datetime goes, which the ingestion window rejects per event (SPEC §6).
            return FAR_FUTURE if value.year > 1 else FAR_PAST


class UsageBatchIn(ApiModel):
    events: Annotated[list[UsageEventIn], Field(min_length=1, max_length=MAX_EVENTS)]

    def __repr_args__(self) -> Any:
        # Powertools formats every route's arguments into a DEBUG line whether or not it is logged:
        # 1,000 events' reprs cost more than validating them. The count says enough.
        yield "events", f"<{len(self.events)} events>"


class EventStatusOut(ApiResponse):
    event_id: str
    status: str = Field(description="accepted | duplicate | rejected")
    reason: str | None = Field(
        None,
        description="Why it was rejected (rejected events are not stored); absent otherwise",
        exclude_if=lambda value: value is None,  # SPEC §6: `reason?`
    )


class UsageBatchOut(ApiResponse):
    accepted: int
    duplicates: int
    rejected: int
    events: list[EventStatusOut]


@cache
def ingest_service() -> UsageIngestService:
    from meterplex.usage.repository import AcceptedTally, SubscriptionSpans, UsageEventStore

    settings = load(UsageSettings)
    late = timedelta(days=settings.late_window_days)
    return UsageIngestService(
        SubscriptionSpans(settings.core_table),
        UsageEventStore(settings.usage_table, late_window=late),
        late_window=late,
        future_skew=timedelta(seconds=settings.future_skew_s),
        tally=AcceptedTally(settings.usage_table),
    )


@router.post(
    "/api/v1/usage/events",
    summary="Send up to 1,000 usage events (API key only); 202 with each event's status in order",
    tags=TAGS,
    openapi_extensions={BODY_LIMIT_EXTENSION: MAX_BATCH_BODY_BYTES},
    responses={202: {"description": "Each event accepted, duplicate or rejected (with a reason)"}},
    security=AUTH_API_KEY,
)
def ingest(body: Annotated[UsageBatchIn, Body()]) -> Response[UsageBatchOut]:
    principal = principal_of(router)
    if principal.auth_type is not AuthType.API_KEY:
        raise Forbidden("Usage events are sent with the tenant's API key", code="API_KEY_REQUIRED")
    access = tenant_access(principal, tenant_header_of(router))
    caller = Caller(access.tenant_id, actor_of(router, principal).id, correlation_id_of(router), new_id())
    events = [IncomingEvent(e.event_id, e.feature, e.amount, e.timestamp, e.metadata) for e in body.events]
    result = ingest_service().ingest(caller, events)
    counts = {status: result.count(status) for status in Status}
    business_metrics.count(business_metrics.USAGE_EVENTS_ACCEPTED, counts[Status.ACCEPTED])
    business_metrics.count(business_metrics.USAGE_EVENTS_DUPLICATE, counts[Status.DUPLICATE])
    business_metrics.count(business_metrics.USAGE_EVENTS_REJECTED, counts[Status.REJECTED])
    out = UsageBatchOut(
        accepted=counts[Status.ACCEPTED],
        duplicates=counts[Status.DUPLICATE],
        rejected=counts[Status.REJECTED],
        events=[
            EventStatusOut(
                event_id=o.event_id, status=o.status.value, reason=o.reason.value if o.reason else None
            )
            for o in result.outcomes
        ],
    )
    return Response(status_code=202, content_type="application/json", body=out)
