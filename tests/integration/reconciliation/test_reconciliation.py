"""Reconciliation in-process against moto server (ADR 0095): uncounted events are re-driven and
counted exactly once, and every kind of seeded drift is found with its category."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.billing import events as billing_events
from meterplex.billing.ledger import entry_for
from meterplex.billing.ledger_repository import LedgerRepository, ledger_pk
from meterplex.billing.models import InvoiceStatus
from meterplex.billing.repository import BillingRepository
from meterplex.entitlements.keys import GRANT_SK, grant_pk
from meterplex.platform.clock import FixedClock
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.reconciliation.dependencies import make_reconciler
from meterplex.reconciliation.models import Category, Finding, IssueStatus, RunStatus, Trigger
from meterplex.reconciliation.repository import ReconciliationRepository
from tests.integration.billing.helpers import billing
from tests.integration.usage.helpers import (
    World,
    aggregate,
    check_used,
    envelopes,
    event,
    send,
    subscribed,
)

pytestmark = pytest.mark.usefixtures("moto_endpoint")


def ingested(world: World, n: int, amount: int = 1) -> list[str]:
    events = [event(f"e-{uuid.uuid4().hex}", world.key("calls"), amount) for _ in range(n)]
    reply = send(world.tenant, events)
    assert reply.status == 202, reply.body
    return [e["eventId"] for e in reply.body["events"] if e["status"] == "accepted"]


def reconcile(tenant_id: str, *, later: timedelta = timedelta(hours=1)) -> list[Finding]:
    """One tenant's findings, an hour from now (past the settle time of what was just done)."""
    _, findings = make_reconciler(FixedClock(datetime.now(UTC) + later)).reconcile(tenant_id)
    return findings


def categories(findings: list[Finding]) -> set[Category]:
    return {f.category for f in findings}


def test_events_never_counted_are_redriven_once_and_a_second_run_finds_nothing() -> None:
    # GIVEN 300 accepted events, 100 of which reached the aggregator
    world = subscribed(days_ago=5)
    ids = ingested(world, 300, amount=2)
    aggregate(envelopes(world.tenant, ids[:100]))
    assert check_used(world, "calls") == 200
    # WHEN a run reconciles the tenant
    findings = reconcile(world.tenant)
    # THEN the 200 uncounted ones are counted, once, and reported (resolved by the run)
    (redriven,) = findings
    assert redriven.category is Category.USAGE_NOT_COUNTED and redriven.resolved
    assert sorted(redriven.ids["eventIds"]) == sorted(ids[100:])
    assert check_used(world, "calls") == 600
    # AND a late Kafka delivery of all of them, then a second run, change nothing
    aggregate(envelopes(world.tenant, ids), first_offset=5000)
    assert check_used(world, "calls") == 600
    assert reconcile(world.tenant) == []


def test_events_younger_than_the_settle_time_are_left_to_the_pipeline() -> None:
    world = subscribed(days_ago=5)
    ingested(world, 10)
    assert reconcile(world.tenant, later=timedelta(0)) == []  # in flight: neither re-driven nor an issue
    assert check_used(world, "calls") == 0


def _update_grant(world: World, expression: str, values: dict) -> None:
    dynamodb_client().update_item(
        TableName=load(CoreTableSettings).core_table,
        Key={"pk": {"S": grant_pk(world.tenant, world.key("calls"))}, "sk": {"S": GRANT_SK}},
        UpdateExpression=expression,
        ExpressionAttributeValues=values,
    )


def test_a_counter_changed_by_hand_is_found() -> None:
    world = subscribed(days_ago=5)
    aggregate(envelopes(world.tenant, ingested(world, 20)))
    assert reconcile(world.tenant) == []
    # WHEN someone adds 7 units to the counter, as if 7 more events had been counted
    _update_grant(world, "ADD used :n, ingested :n", {":n": {"N": "7"}})
    (finding,) = reconcile(world.tenant)
    assert finding.category is Category.COUNTER_INGESTED_MISMATCH
    assert (finding.expected, finding.actual) == (20, 27)
    # AND a `used` changed alone breaks the counter's own sum
    _update_grant(world, "ADD used :n, ingested :m", {":n": {"N": "3"}, ":m": {"N": "-7"}})
    (finding,) = reconcile(world.tenant)
    assert finding.category is Category.COUNTER_USED_MISMATCH and (finding.expected, finding.actual) == (
        20,
        30,
    )


def _invoiced(world: World) -> tuple[BillingRepository, str]:
    """The tenant's usage invoiced and finalized, its CHARGE in the ledger (as ledger_writer does)."""
    service = billing(FixedClock(datetime.now(UTC)))
    invoice = service.generate(world.tenant, world.subscription_id)
    finalized = service.finalize(world.tenant, invoice.id)
    event = billing_events.invoice_event(
        billing_events.FINALIZED, finalized, datetime.now(UTC), previous=InvoiceStatus.DRAFT
    )
    entry = entry_for(event)
    assert entry is not None and LedgerRepository().record(entry)
    return BillingRepository(), finalized.id


def test_an_invoice_line_that_disagrees_with_its_counter_is_found() -> None:
    world = subscribed(days_ago=5)
    aggregate(envelopes(world.tenant, ingested(world, 750, amount=2)))
    repository, invoice_id = _invoiced(world)
    assert reconcile(world.tenant) == []
    # WHEN the invoice's usage line says it billed more than the counter ever counted
    invoice = repository.invoice(world.tenant, invoice_id)
    assert invoice is not None
    lines = list(invoice.line_items)
    (index,) = [i for i, line in enumerate(lines) if line.feature_lookup_key == world.key("calls")]
    usage = replace(lines[index].usage[0], counted=lines[index].usage[0].counted + 100)
    lines[index] = replace(lines[index], usage=(usage,))
    BillingRepository._record(replace(invoice, line_items=tuple(lines))).save()
    # THEN
    (finding,) = reconcile(world.tenant)
    assert finding.category is Category.INVOICE_LINE_COUNTER_MISMATCH
    assert finding.ids["invoiceIds"] == [invoice_id] and (finding.expected, finding.actual) == (1500, 1600)


def _ledger_items(tenant_id: str) -> list[dict]:
    response = dynamodb_client().query(
        TableName=load(CoreTableSettings).core_table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :entry)",
        ExpressionAttributeValues={":pk": {"S": ledger_pk(tenant_id)}, ":entry": {"S": "ENTRY#"}},
        ConsistentRead=True,
    )
    return response["Items"]


def test_a_ledger_entry_removed_is_found() -> None:
    world = subscribed(days_ago=5)
    _, invoice_id = _invoiced(world)
    assert reconcile(world.tenant) == []
    (item,) = _ledger_items(world.tenant)
    dynamodb_client().delete_item(
        TableName=load(CoreTableSettings).core_table, Key={"pk": item["pk"], "sk": item["sk"]}
    )
    found = reconcile(world.tenant)
    assert categories(found) == {Category.LEDGER_ENTRY_MISSING, Category.LEDGER_BALANCE_MISMATCH}
    (missing,) = [f for f in found if f.category is Category.LEDGER_ENTRY_MISSING]
    assert missing.ids["invoiceIds"] == [invoice_id]


def test_a_duplicate_ledger_entry_is_found() -> None:
    world = subscribed(days_ago=5)
    _, invoice_id = _invoiced(world)
    (item,) = _ledger_items(world.tenant)
    copy = {**item, "sk": {"S": item["sk"]["S"].replace("ENTRY#", "ENTRY#0", 1)}}
    dynamodb_client().put_item(TableName=load(CoreTableSettings).core_table, Item=copy)
    found = reconcile(world.tenant)
    assert Category.LEDGER_ENTRY_DUPLICATE in categories(found)
    (duplicate,) = [f for f in found if f.category is Category.LEDGER_ENTRY_DUPLICATE]
    assert duplicate.ids["invoiceIds"] == [invoice_id] and duplicate.actual == 2


def test_a_run_records_its_issues_and_they_are_acknowledged_then_resolved() -> None:
    world = subscribed(days_ago=5)
    ingested(world, 5)
    service = make_reconciler(FixedClock(datetime.now(UTC) + timedelta(hours=1)))
    run = service.new_run(Trigger.MANUAL, world.tenant)
    store = ReconciliationRepository()
    store.start(run)
    done = service.run(run)
    assert done.status is RunStatus.COMPLETED and done.stats.events_redriven == 5
    assert done.stats.open_issues == 0 and done.stats.by_category == {"USAGE_NOT_COUNTED": 1}
    (issue,), last = store.issues(run.id, None, 10)
    assert last is None and issue.status is IssueStatus.RESOLVED and issue.tenant_id == world.tenant
    stored = store.run(run.id)
    assert stored is not None and (stored.status, stored.stats) == (done.status, done.stats)
