"""GET /admin/clock, POST /admin/clock/advance, POST /admin/clock/reset (platform admin only).

Where the test clock is off (production) every route answers the same 404 as an unknown route, to
anyone: the routes do not exist there.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)

from meterplex.platform import audit
from meterplex.platform.api import AUTH_USER, actor_of, principal_of
from meterplex.platform.clock import business_clock, iso
from meterplex.platform.errors import NotFound
from meterplex.platform.observability import logger
from meterplex.platform.outbox import publish_alone
from meterplex.testclock.schemas import AdvanceOut, AdvanceRequest, ClockOut
from meterplex.testclock.service import ClockService, ClockView

router = Router()
TAGS = ["Admin: test clock"]
PARTIAL = 202
_ADVANCE_RESPONSE: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "application/json": {"model": AdvanceOut}
}


@cache
def clock_service() -> ClockService:
    from meterplex.platform.clock_store import ClockStore
    from meterplex.platform.settings import AdminClockSettings, load
    from meterplex.testclock.invoker import LambdaInvoker
    from meterplex.testclock.targets import load_targets

    settings = load(AdminClockSettings)
    return ClockService(
        ClockStore(),
        LambdaInvoker(),
        load_targets(settings.schedules),
        budget_s=settings.advance_budget_s,
        completion_timeout_s=settings.completion_timeout_s,
    )


def _admin() -> str:
    """The platform admin calling (404 where the test clock is off, whoever calls)."""
    if not business_clock.enabled:
        event = router.current_event
        raise NotFound(f"No route for {event.http_method} {event.path}", code="ROUTE_NOT_FOUND")
    return principal_of(router).require_platform_admin()


def _audit(type_: str, before: ClockView, after: ClockView) -> None:
    """The clock's audit event, after its moves (ADR 0090: the one write not in one transaction)."""
    publish_alone(
        audit.event(
            type_,
            actor=actor_of(router, principal_of(router)),
            tenant_id=None,
            resource="clock",
            resource_id="test-clock",
            before={"now": iso(before.now), "frozen": before.frozen},
            after={"now": iso(after.now), "frozen": after.frozen},
        )
    )


@router.get(
    "/api/v1/admin/clock",
    summary="Business time and whether the test clock is frozen",
    tags=TAGS,
    security=AUTH_USER,
)
def show_clock() -> ClockOut:
    _admin()
    return ClockOut.of(clock_service().show())


@router.post(
    "/api/v1/admin/clock/advance",
    summary="Move business time forward, running every schedule that comes due, in time order",
    tags=TAGS,
    security=AUTH_USER,
    responses={
        200: {"description": "Advanced to the target", "content": _ADVANCE_RESPONSE},
        PARTIAL: {
            "description": "The time budget ran out between two firings: repeat with `to` = `target`",
            "content": _ADVANCE_RESPONSE,
        },
    },
)
def advance_clock(body: Annotated[AdvanceRequest, Body()]) -> Response[AdvanceOut]:
    admin = _admin()
    context = router.lambda_context
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
    before = clock_service().show()
    result = clock_service().advance(to=body.to, by=body.duration, freeze=body.freeze, remaining_s=remaining)
    _audit("clock.advanced", before, clock_service().show())
    logger.info("test clock advance requested", admin=admin, complete=result.complete)
    status = 200 if result.complete else PARTIAL
    return Response(status_code=status, content_type="application/json", body=AdvanceOut.of_result(result))


@router.post("/api/v1/admin/clock/reset", summary="Back to real time", tags=TAGS, security=AUTH_USER)
def reset_clock() -> ClockOut:
    _admin()
    before = clock_service().show()
    after = clock_service().reset()
    _audit("clock.reset", before, after)
    return ClockOut.of(after)
