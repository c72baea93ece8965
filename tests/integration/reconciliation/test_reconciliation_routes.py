"""The reconciliation routes in-process (ADR 0095): platform admins only; runs and issues listed by
cursor; acknowledge then resolve with notes, each once (409 after), each with its audit event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.ids import new_id
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.reconciliation.models import Category, Issue, IssueStatus, Run, RunStats, RunStatus, Trigger
from meterplex.reconciliation.repository import ReconciliationRepository
from tests.integration.catalog.handlers import admin, call, user

pytestmark = pytest.mark.usefixtures("moto_endpoint")
V1 = "/api/v1/admin/reconciliation"


def stored_run(issues: int) -> tuple[Run, list[Issue]]:
    now = datetime.now(UTC)
    run = Run(
        new_id(), Trigger.SCHEDULE, RunStatus.COMPLETED, now, finished_at=now, stats=RunStats(issues=issues)
    )
    found = [
        Issue(
            new_id(),
            run.id,
            "tenant-x",
            Category.LEDGER_ENTRY_MISSING,
            IssueStatus.OPEN,
            f"#{i}",
            {"invoiceIds": [f"inv-{i}"]},
            10,
            0,
            now,
            now,
        )
        for i in range(issues)
    ]
    store = ReconciliationRepository()
    store.start(run)
    store.add_issues(found)
    return run, found


def audit_events(issue_id: str) -> list[dict]:
    response = dynamodb_client().query(
        TableName=load(CoreTableSettings).core_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "OUTBOX#tenant-x"}},
    )
    payloads = [json.loads(i["payload"]["S"]) for i in response["Items"]]
    return [p for p in payloads if p["data"].get("resourceId") == issue_id]


def test_only_platform_admins_may_call_them() -> None:
    for method, path, body in [("GET", f"{V1}/runs", None), ("POST", f"{V1}/run", {})]:
        reply = call("reconciliation_api", method, path, body, principal=user())
        assert reply.status == 403 and reply.body["code"] == "PLATFORM_ADMIN_REQUIRED", reply.body


def test_runs_and_issues_are_listed_by_cursor() -> None:
    run, issues = stored_run(3)
    runs = call("reconciliation_api", "GET", f"{V1}/runs?limit=100", principal=admin())
    assert runs.status == 200 and run.id in [r["id"] for r in runs.body["data"]]
    first = call("reconciliation_api", "GET", f"{V1}/runs/{run.id}/issues?limit=2", principal=admin())
    assert first.status == 200 and len(first.body["data"]) == 2, first.body
    cursor = first.body["meta"]["nextCursor"]
    rest = call(
        "reconciliation_api", "GET", f"{V1}/runs/{run.id}/issues?limit=2&cursor={cursor}", principal=admin()
    )
    assert [i["id"] for i in first.body["data"] + rest.body["data"]] == [i.id for i in issues]
    assert rest.body["meta"]["nextCursor"] is None
    missing = call("reconciliation_api", "GET", f"{V1}/runs/{new_id()}/issues", principal=admin())
    assert missing.status == 404 and missing.body["code"] == "RECONCILIATION_RUN_NOT_FOUND"


def test_an_issue_is_acknowledged_then_resolved_once_each_with_its_audit_event() -> None:
    _, (issue,) = stored_run(1)
    path = f"{V1}/issues/{issue.id}"
    acked = call("reconciliation_api", "POST", f"{path}/acknowledge", {"notes": "looking"}, principal=admin())
    assert acked.status == 200 and acked.body["status"] == "ACKNOWLEDGED" and acked.body["notes"] == "looking"
    again = call("reconciliation_api", "POST", f"{path}/acknowledge", {"notes": "x"}, principal=admin())
    assert again.status == 409 and again.body["code"] == "INVALID_TRANSITION"
    done = call(
        "reconciliation_api", "POST", f"{path}/resolve", {"notes": "entry rewritten"}, principal=admin()
    )
    assert done.status == 200 and done.body["status"] == "RESOLVED"
    assert (
        call("reconciliation_api", "POST", f"{path}/resolve", {"notes": "x"}, principal=admin()).status == 409
    )
    assert sorted(e["type"] for e in audit_events(issue.id)) == [
        "reconciliation_issue.acknowledged",
        "reconciliation_issue.resolved",
    ]
    assert (
        call(
            "reconciliation_api", "POST", f"{V1}/issues/{new_id()}/resolve", {"notes": "x"}, principal=admin()
        ).status
        == 404
    )
    empty = call("reconciliation_api", "POST", f"{path}/resolve", {"notes": ""}, principal=admin())
    assert empty.status == 400


def test_a_run_for_an_unknown_tenant_is_404() -> None:
    reply = call("reconciliation_api", "POST", f"{V1}/run", {"tenantId": new_id()}, principal=admin())
    assert reply.status == 404 and reply.body["code"] == "TENANT_NOT_FOUND"


def test_the_latest_run_is_the_newest_finished_one_not_one_still_running() -> None:
    # GIVEN a finished run, then a newer one still RUNNING
    run, _ = stored_run(2)
    ReconciliationRepository().start(Run(new_id(), Trigger.MANUAL, RunStatus.RUNNING, datetime.now(UTC)))
    # THEN the overview's last reconciliation is the finished one, with what it found
    latest = ReconciliationRepository().latest()
    assert latest is not None and latest.id == run.id and latest.stats.issues == 2
