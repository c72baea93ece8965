"""/api/v1/admin/reconciliation/… (SPEC §8.4, ADR 0095): platform admins only."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.platform.api import AUTH_USER, actor_of, principal_of
from meterplex.platform.audit import Actor
from meterplex.platform.pagination import DEFAULT_LIMIT, Cursor, PageLimit, PageNumber, page_of
from meterplex.reconciliation.dependencies import operations
from meterplex.reconciliation.schemas import (
    IssueActionRequest,
    IssueOut,
    IssuesPage,
    RunOut,
    RunRequest,
    RunsPage,
    issue_out,
    run_out,
)

router = Router()
TAGS = ["Admin: reconciliation"]
ACCEPTED = 202

RunId = Annotated[str, Path(min_length=1, max_length=100, description="The run's id")]
IssueId = Annotated[str, Path(min_length=1, max_length=100, description="The issue's id")]


def _admin() -> Actor:
    """The platform admin calling, as the audit trail names them."""
    principal = principal_of(router)
    principal.require_platform_admin()
    return actor_of(router, principal)


@router.post(
    "/api/v1/admin/reconciliation/run",
    summary="Start a reconciliation run now (every tenant, or one): answered at once, the run's "
    "status and findings appear in the runs list. A one-tenant run reads the whole usage table "
    "(filtered), so it costs a full run's read units",
    tags=TAGS,
    security=AUTH_USER,
    status_code=ACCEPTED,
    responses={ACCEPTED: {"description": "The run, RUNNING"}},
)
def request_run(body: Annotated[RunRequest | None, Body()] = None) -> Response[RunOut]:
    actor = _admin()
    request = body or RunRequest()
    run = operations().request_run(request.tenant_id, actor)
    return Response(status_code=ACCEPTED, content_type="application/json", body=run_out(run))


@router.get(
    "/api/v1/admin/reconciliation/runs",
    summary="Reconciliation runs, newest first (cursor)",
    tags=TAGS,
    security=AUTH_USER,
)
def list_runs(
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> RunsPage:
    _admin()
    runs, meta = page_of(operations().runs, cursor=cursor, limit=limit, page=page)
    return RunsPage(data=[run_out(r) for r in runs], meta=meta)


@router.get(
    "/api/v1/admin/reconciliation/runs/<runId>/issues",
    summary="The issues a run found, in the order found (cursor)",
    tags=TAGS,
    security=AUTH_USER,
)
def list_issues(
    runId: RunId,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> IssuesPage:
    _admin()
    issues, meta = page_of(
        lambda key, n: operations().issues(runId, key, n), cursor=cursor, limit=limit, page=page
    )
    return IssuesPage(data=[issue_out(i) for i in issues], meta=meta)


@router.post(
    "/api/v1/admin/reconciliation/issues/<issueId>/acknowledge",
    summary="OPEN → ACKNOWLEDGED, with the operator's notes",
    tags=TAGS,
    security=AUTH_USER,
)
def acknowledge_issue(issueId: IssueId, body: Annotated[IssueActionRequest, Body()]) -> IssueOut:
    actor = _admin()
    return issue_out(operations().act(issueId, "acknowledge", body.notes, actor))


@router.post(
    "/api/v1/admin/reconciliation/issues/<issueId>/resolve",
    summary="OPEN or ACKNOWLEDGED → RESOLVED, with the operator's notes",
    tags=TAGS,
    security=AUTH_USER,
)
def resolve_issue(issueId: IssueId, body: Annotated[IssueActionRequest, Body()]) -> IssueOut:
    actor = _admin()
    return issue_out(operations().act(issueId, "resolve", body.notes, actor))
