"""The metric contract (ADR 0100) on the real code paths against moto server: each business metric
is printed as EMF by the function that owns the event, with the right count, and with no dimension
but Powertools' `service` (never a tenant or user id)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.billing.events import InvoiceDue
from meterplex.platform import business_metrics as bm
from meterplex.platform import topics
from tests.integration.billing.helpers import at, billing, function, invoke, subscribed
from tests.integration.catalog.handlers import api_key, call
from tests.integration.payments.helpers import Payments
from tests.integration.usage.helpers import aggregate, envelopes, event, send
from tests.integration.usage.helpers import subscribed as usage_subscribed
from tests.support.emf import Emf, capture
from tests.support.kafka_events import batch

pytestmark = pytest.mark.usefixtures("moto_endpoint")
SERVICE = "meterplex-test"  # POWERTOOLS_SERVICE_NAME of the test process (tests/conftest.py)


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Emf]:
    yield from capture(monkeypatch, capsys)


def assert_service_dimension_only(emf: Emf, *names: str) -> None:
    for name in names:
        dimension_sets = emf.dimension_sets(name)
        assert dimension_sets, f"{name} was not emitted"
        assert all(dims == ["service"] for dims in dimension_sets), (name, dimension_sets)
    for record in emf.records:
        assert record["service"] == SERVICE


def consume(tenant_id: str, feature: str) -> int:
    path = f"/api/v1/entitlements/{feature}/consume"
    return call("entitlements_api", "POST", path, {"amount": 1}, principal=api_key(tenant_id)).status


def test_ingest_then_count_emits_accepted_duplicate_rejected_counted_and_one_latency_per_event(
    emf: Emf,
) -> None:
    world = usage_subscribed(days_ago=5)
    calls, sso = world.key("calls"), world.key("sso")
    ids = [f"e-{uuid.uuid4().hex}" for _ in range(3)]
    started_ms = time.time() * 1000
    # WHEN one request sends 3 new events, one of them twice, and one on a BOOLEAN feature
    events = [event(i, calls) for i in ids] + [event(ids[0], calls), event("e-bool", sso)]
    reply = send(world.tenant, events)
    assert reply.status == 202, reply.body
    ingest = emf.read()
    # THEN usage_api printed accepted 3, duplicate 1, rejected 1
    assert (emf.total(bm.USAGE_EVENTS_ACCEPTED), emf.total(bm.USAGE_EVENTS_DUPLICATE)) == (3, 1)
    assert emf.total(bm.USAGE_EVENTS_REJECTED) == 1
    assert len(ingest) == 1  # one flush per invocation

    # WHEN the aggregator receives them from Kafka
    assert aggregate(envelopes(world.tenant, ids), first_offset=100) == {"batchItemFailures": []}
    counted_ms = time.time() * 1000
    counting = emf.read()
    # THEN 3 counted, and one ingest → counted sample per counted event, within what the test saw
    assert emf.total(bm.USAGE_EVENTS_COUNTED, counting) == 3
    latencies = emf.values(bm.USAGE_INGEST_TO_COUNTED_MS, counting)
    assert len(latencies) == 3
    assert all(0 <= latency <= counted_ms - started_ms + 1 for latency in latencies), latencies
    assert emf.unit(bm.USAGE_INGEST_TO_COUNTED_MS) == "Milliseconds"

    # WHEN Kafka redelivers the batch THEN nothing is counted again and no latency is sampled
    aggregate(envelopes(world.tenant, ids), first_offset=100)
    again = emf.read()
    assert emf.total(bm.USAGE_EVENTS_COUNTED, again) == 0
    assert emf.total(bm.USAGE_EVENTS_ALREADY_COUNTED, again) == 3
    assert emf.values(bm.USAGE_INGEST_TO_COUNTED_MS, again) == []

    # WHEN a poison record arrives THEN it is one dead letter
    aggregate([b"{not json"], first_offset=900 + int(time.time()))
    assert emf.total(bm.DEAD_LETTERS, emf.read()) == 1
    assert_service_dimension_only(
        emf,
        bm.USAGE_EVENTS_ACCEPTED,
        bm.USAGE_EVENTS_DUPLICATE,
        bm.USAGE_EVENTS_REJECTED,
        bm.USAGE_EVENTS_COUNTED,
        bm.USAGE_INGEST_TO_COUNTED_MS,
        bm.DEAD_LETTERS,
    )


def test_events_counted_before_a_failing_chunk_are_counted_in_the_metrics_once(emf: Emf) -> None:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from meterplex.platform.dynamodb import dynamodb_client
    from meterplex.usage.counters import MAX_ATTEMPTS
    from tests.support.dynamodb_faults import cancelled_transactions

    # GIVEN 150 requests of one event each: one counter, two transactions (99 receipts, then 51)
    world = usage_subscribed(days_ago=5)
    ids = []
    for _ in range(150):
        reply = send(world.tenant, [event(f"e-{uuid.uuid4().hex}", world.key("calls"))])
        ids += [e["eventId"] for e in reply.body["events"] if e["status"] == "accepted"]
    values = envelopes(world.tenant, ids)
    emf.read()
    # WHEN the second transaction keeps conflicting (the counter is busy): every record of the
    # counter failed, so the whole batch fails and is retried
    with (
        cancelled_transactions(MAX_ATTEMPTS, client=dynamodb_client(), after=1),
        pytest.raises(BatchProcessingError),
    ):
        aggregate(values, first_offset=40_000)
    # THEN the 99 that committed are counted (and sampled) now, not lost from the metrics
    first = emf.read()
    assert emf.total(bm.USAGE_EVENTS_COUNTED, first) == 99
    assert len(emf.values(bm.USAGE_INGEST_TO_COUNTED_MS, first)) == 99
    # AND the retry counts the other 51: Σ counted = Σ accepted
    assert aggregate(values, first_offset=40_000) == {"batchItemFailures": []}
    retry = emf.read()
    assert (emf.total(bm.USAGE_EVENTS_COUNTED, retry), emf.total(bm.USAGE_EVENTS_ALREADY_COUNTED, retry)) == (
        51,
        99,
    )
    assert len(emf.values(bm.USAGE_INGEST_TO_COUNTED_MS, retry)) == 51


def test_each_refused_consume_is_counted_with_its_code_as_a_property(emf: Emf) -> None:
    tenant = subscribed(
        datetime.now(UTC) - timedelta(days=1),
        {"exports": ("QUOTA", {"limit": 1}), "sso": ("BOOLEAN", {"value": True})},
    )
    exports, sso = tenant.key("exports"), tenant.key("sso")
    # WHEN a consume counts, then the HARD limit, a BOOLEAN and an unknown feature refuse
    assert consume(tenant.id, exports) == 200
    allowed = emf.read()
    statuses = [consume(tenant.id, exports), consume(tenant.id, sso), consume(tenant.id, "no_such_feature")]
    assert statuses == [403, 403, 404]
    refused = emf.read()
    # THEN the allowed one is no refusal, each refusal is one ConsumeRejected with its code
    assert emf.total(bm.CONSUME_REJECTED, allowed) == 0
    assert emf.total(bm.CONSUME_REJECTED, refused) == 3
    assert [r["refusal"] for r in refused] == [
        "QUOTA_EXCEEDED",
        "FEATURE_NOT_CONSUMABLE",
        "FEATURE_NOT_IN_PLAN",
    ]
    assert_service_dimension_only(emf, bm.CONSUME_REJECTED)
    # the refusal code is a property: no directive names it as a dimension
    assert all("refusal" not in dims for dims in emf.dimension_sets(bm.CONSUME_REJECTED))


def test_invoices_finalized_by_hand_and_by_the_scheduled_worker_are_counted_once_each(emf: Emf) -> None:
    # GIVEN a draft finalized by hand
    by_hand = subscribed(at(2026, 3, 1, 9))
    service = billing(by_hand.clock)
    by_hand.clock.set(at(2026, 3, 10, 14))
    draft = service.generate(by_hand.id)
    service.finalize(by_hand.id, draft.id)
    assert emf.total(bm.INVOICES_FINALIZED, emf.read(flush=True)) == 1

    # WHEN the worker settles a due subscription from Kafka, with a poison message beside it
    scheduled = subscribed(at(2026, 1, 31, 10))
    run = at(2026, 3, 1, 0, 5)
    due = InvoiceDue(scheduled.id, scheduled.subscription.id, at(2026, 2, 28, 10), run).envelope()
    offset = 20_000 + int(time.time()) % 10_000
    reply = invoke(
        function("invoice_worker"),
        batch(topics.INVOICING, [b"{nope", due.to_json().encode()], first_offset=offset),
        "invoice_worker",
    )
    assert reply == {"batchItemFailures": []}
    settled = emf.read()
    # THEN one invoice finalized (the period Jan 31 → Feb 28) and one dead letter
    assert emf.total(bm.INVOICES_FINALIZED, settled) == 1
    assert emf.total(bm.DEAD_LETTERS, settled) == 1

    # WHEN the same message is delivered again THEN no second invoice, nothing counted
    invoke(
        function("invoice_worker"),
        batch(topics.INVOICING, [due.to_json().encode()], first_offset=offset + 1),
        "invoice_worker",
    )
    assert emf.total(bm.INVOICES_FINALIZED, emf.read()) == 0
    assert_service_dimension_only(emf, bm.INVOICES_FINALIZED, bm.DEAD_LETTERS)


def test_a_failed_payment_attempt_is_counted_once_however_often_its_event_arrives(emf: Emf) -> None:
    tenant = subscribed(at(2026, 3, 1, 9))
    payments = Payments(tenant.clock)
    payments.directory.script(tenant.id, "fail")
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 3, 10, 14))
    invoice = service.finalize(tenant.id, service.generate(tenant.id).id)
    emf.read(flush=True)
    # WHEN the collector charges it (the fake fails) and the provider event is processed twice
    keys = payments.finalized(invoice)
    assert payments.deliver(keys) == ["failed, retry scheduled"]
    assert payments.deliver(keys) == ["already processed"]
    # THEN one PaymentsFailed
    assert emf.total(bm.PAYMENTS_FAILED, emf.read(flush=True)) == 1
    assert_service_dimension_only(emf, bm.PAYMENTS_FAILED)


def test_a_reconciliation_run_reports_its_open_issues(emf: Emf) -> None:
    from meterplex.reconciliation.dependencies import reconciler
    from meterplex.reconciliation.models import Trigger
    from meterplex.reconciliation.repository import ReconciliationRepository

    # GIVEN a tenant whose finalized invoice has no ledger CHARGE (no ledger_writer ran here)
    tenant = subscribed(at(2026, 3, 1, 9))
    service = billing(tenant.clock)
    tenant.clock.set(at(2026, 3, 10, 14))
    service.finalize(tenant.id, service.generate(tenant.id).id)
    emf.read(flush=True)
    # WHEN the reconciler carries out a run of that tenant
    run = reconciler().new_run(Trigger.MANUAL, tenant.id)
    ReconciliationRepository().start(run)
    reply = invoke(function("reconciler"), {"runId": run.id}, "reconciler")
    # THEN it printed the run's open issues
    assert reply["openIssues"] >= 1
    assert emf.total(bm.RECONCILIATION_ISSUES, emf.read()) == reply["openIssues"]
    assert_service_dimension_only(emf, bm.RECONCILIATION_ISSUES)
