"""GET /admin/audit-logs and /admin/audit-logs/{id} (SPEC §8.4, ADR 0090): every filter served by
its index, cursor pages, across tenants; tenants read only their own trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.platform import audit, topics
from tests.integration.admin.test_audit_every_write import World
from tests.integration.identity.conftest import register
from tests.support.api_client import runner
from tests.support.kafka_events import batch

LOGS = "/api/v1/admin/audit-logs"
T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def trail(moto_endpoint: str) -> dict[str, str]:
    """Six audit events of two tenants, two actors, two resources, over two months, kept by
    audit_writer from one Kafka batch (as the outbox delivers them)."""
    run = uuid.uuid4().hex[:8]
    names = {"a": f"ta-{run}", "b": f"tb-{run}", "alice": f"user:alice-{run}", "bob": f"user:bob-{run}"}
    specs = [
        ("a", "alice", "plan", "plan.created", 0),
        ("a", "alice", "invoice", "invoice.finalized", 1),
        ("a", "bob", "invoice", "invoice.voided", 2),
        ("b", "bob", "invoice", "invoice.finalized", 3),
        ("b", "alice", "tenant", "tenant.updated", 40),
        ("a", "alice", "invoice", "invoice.paid", 41),
    ]
    values = []
    for tenant, actor, resource, type_, days in specs:
        event = audit.event(
            type_,
            actor=audit.Actor(names[actor], f"corr-{run}"),
            at=T0 + timedelta(days=days),
            tenant_id=names[tenant],
            resource=resource,
            resource_id=f"{resource}-{days}",
            after={"n": days},
        )
        values.append(event.to_json().encode())
    assert runner().invoke("audit_writer", batch(topics.DOMAIN, values, first_offset=5000)) == {
        "batchItemFailures": []
    }
    return names


@pytest.fixture(scope="module")
def admin(moto_endpoint: str) -> World:
    return World()


def ids(reply: dict) -> list[str]:
    return [e["resourceId"] for e in reply["data"]]


def test_filters_each_use_their_index_and_answer_newest_first(trail: dict[str, str], admin: World) -> None:
    get = lambda **q: admin.admin.get(LOGS, query=q).body  # noqa: E731
    assert ids(get(tenantId=trail["a"])) == ["invoice-41", "invoice-2", "invoice-1", "plan-0"]
    assert ids(get(actorId=trail["bob"])) == ["invoice-3", "invoice-2"]
    assert ids(get(actorId=trail["alice"], resource="invoice")) == ["invoice-41", "invoice-1"]
    assert ids(get(tenantId=trail["a"], action="finalize")) == ["invoice-1"]
    march = {"startDate": "2026-03-01T00:00:00Z", "endDate": "2026-03-31T23:59:59Z"}
    assert ids(get(tenantId=trail["b"], **march)) == ["invoice-3"]
    # without tenant, actor or resource: the month index, walked from endDate back to startDate
    window = get(startDate="2026-03-10T00:00:00Z", endDate="2026-04-30T00:00:00Z", action="update")
    assert trail["b"] in {e["tenantId"] for e in window["data"]}
    event = get(tenantId=trail["a"])["data"][0]
    assert (event["actor"], event["resource"], event["action"], event["type"]) == (
        trail["alice"],
        "invoice",
        "mark_paid",
        "invoice.paid",
    )


def test_pages_follow_the_cursor_to_the_end(trail: dict[str, str], admin: World) -> None:
    first = admin.admin.get(LOGS, query={"tenantId": trail["a"], "limit": 3}).body
    assert len(first["data"]) == 3 and first["meta"]["nextCursor"]
    rest = admin.admin.get(
        LOGS, query={"tenantId": trail["a"], "limit": 3, "cursor": first["meta"]["nextCursor"]}
    )
    assert ids(rest.body) == ["plan-0"] and rest.body["meta"]["nextCursor"] is None
    # a cursor of another list is refused
    other = admin.admin.get(LOGS, query={"tenantId": trail["b"], "cursor": first["meta"]["nextCursor"]})
    assert (other.status, other.code) == (400, "INVALID_CURSOR")


def test_one_event_by_id_and_bad_ranges(trail: dict[str, str], admin: World) -> None:
    event = admin.admin.get(LOGS, query={"tenantId": trail["b"]}).body["data"][0]
    assert admin.admin.get(f"{LOGS}/{event['id']}").body == event
    assert admin.admin.get(f"{LOGS}/{uuid.uuid4()}").code == "AUDIT_EVENT_NOT_FOUND"
    backwards = {"startDate": "2026-05-01T00:00:00Z", "endDate": "2026-04-01T00:00:00Z"}
    assert admin.admin.get(LOGS, query=backwards).code == "INVALID_DATE_RANGE"
    wide = {"startDate": "2001-01-01T00:00:00Z", "endDate": "2026-04-01T00:00:00Z"}
    assert admin.admin.get(LOGS, query=wide).code == "INVALID_DATE_RANGE"
    assert admin.admin.get(LOGS, query={"endDate": "2026-04-01T00:00:00"}).code == "INVALID_DATE"


def test_only_platform_admins_read_every_tenant(trail: dict[str, str], moto_endpoint: str) -> None:
    member = register()
    assert member.get(LOGS).status == 403
    assert member.get(f"{LOGS}/x").status == 403
    # a tenant reads its own trail, never another's
    own = member.get("/api/v1/audit-events", tenant=member.tenant_id).body["data"]
    assert {e["tenantId"] for e in own} <= {member.tenant_id}
    assert member.get("/api/v1/audit-events", tenant=trail["a"]).status == 403
