"""Scheduled billing on real pieces: billing_scheduler → Tansu (meterplex.invoicing.v1) → Kafka
poller → invoice_worker → moto; the core table's stream → outbox_relay → meterplex.billing.v1 →
ledger_writer. Runs repeat and overlap; each period is still invoiced exactly once."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import topology
from infra.local.dead_letters import DeadLetters
from infra.local.functions import FunctionRunner
from infra.local.kafka_poller import KafkaPoller
from infra.local.scheduler import schedule_event
from infra.local.stream_poller import StreamPoller
from meterplex.billing.dependencies import ledger
from meterplex.billing.events import InvoiceDue
from meterplex.billing.scheduler import run_completed
from meterplex.platform import settings, topics
from meterplex.platform.clock import iso
from tests.integration.billing.helpers import Tenant, at, billing, function, invoke, subscribed
from tests.support.kafka_events import batch
from tests.support.waiting import wait_for

RUN = at(2026, 3, 1, 0, 5)  # the daily run after the first periods (Jan 31 → Feb 28) ended
SCHEDULE = topology.SCHEDULES[0]


@pytest.fixture(scope="module")
def runner(
    moto_endpoint: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FunctionRunner]:
    settings.load.cache_clear()  # MP_KAFKA_BOOTSTRAP now names the Tansu fixture
    runner = FunctionRunner(topology=topology)
    letters = DeadLetters(Path(tmp_path_factory.mktemp("dlq")))
    core = next(t for t in topology.STREAM_TRIGGERS if t.table == topology.CORE)
    pollers = [
        StreamPoller(
            core,
            os.environ[topology.table(topology.CORE).env_var],
            runner.invoke,
            letters,
            endpoint=moto_endpoint,
        ),
        *(
            KafkaPoller(t, kafka_bootstrap, runner.invoke, letters)
            for t in topology.KAFKA_TRIGGERS
            if t.topic in {topics.INVOICING, topics.BILLING}
        ),
    ]
    for poller in pollers:
        poller.start()
    yield runner
    for poller in reversed(pollers):
        poller.stop()


def fire(runner: FunctionRunner, when: object = RUN) -> dict:
    event = schedule_event(SCHEDULE, when)  # the Scheduled Event, `time` = the fire time
    return runner.invoke(SCHEDULE.function, event)


def invoices_of(tenant: Tenant) -> list:
    return billing().invoices(tenant.id, None, 100)[0]


def test_repeated_and_overlapping_runs_invoice_each_period_once(
    runner: FunctionRunner, nothing_else_due: None
) -> None:
    # GIVEN three tenants whose first monthly period ended on Feb 28
    tenants = [subscribed(at(2026, 1, 31, 10)) for _ in range(3)]
    tenants[0].use("api_calls", 55_000, at(2026, 2, 20))
    # WHEN the daily schedule fires twice at once, then once more
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(fire(runner))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(fire(runner))
    assert all(r["asOf"] == iso(RUN) for r in results) and results[0]["due"] == 3
    # THEN once the workers are done (the test clock's completion check says so) ...
    wait_for(lambda: run_completed(results[-1]), timeout=30, interval=0.05)
    # ... each tenant has exactly one invoice for the period, finalized, and its ledger CHARGE
    for tenant in tenants:
        [invoice] = invoices_of(tenant)
        assert invoice.status.value == "FINALIZED" and invoice.period_start == at(2026, 1, 31, 10)
        wait_for(lambda t=tenant: bool(ledger().balances(t.id)), timeout=30, interval=0.05)
        [balance] = ledger().balances(tenant.id)
        assert balance.charged == invoice.total == balance.balance
    assert invoices_of(tenants[0])[0].total == 9_900 + 500
    # AND a run with nothing due publishes nothing
    assert fire(runner)["due"] == 0


def test_concurrent_workers_on_the_same_messages_issue_one_invoice(nothing_else_due: None) -> None:
    tenant = subscribed(at(2026, 1, 31, 10))
    message = (
        InvoiceDue(tenant.id, tenant.subscription.id, at(2026, 2, 28, 10), RUN).envelope().to_json().encode()
    )
    replies: list[dict] = []

    def deliver(instance: int) -> None:  # four Lambda instances, each handed the same messages
        worker = function("invoice_worker", instance)
        event = batch(topics.INVOICING, [message, message], first_offset=instance * 10)
        replies.append(invoke(worker, event, "invoice_worker"))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r == {"batchItemFailures": []} for r in replies), replies
    assert len(invoices_of(tenant)) == 1


def test_a_poison_message_is_dead_lettered_and_the_batch_moves_on(nothing_else_due: None) -> None:
    from meterplex.platform.dead_letters import dead_letters

    tenant = subscribed(at(2026, 1, 31, 10))
    good = (
        InvoiceDue(tenant.id, tenant.subscription.id, at(2026, 2, 28, 10), RUN).envelope().to_json().encode()
    )
    reply = invoke(
        function("invoice_worker"), batch(topics.INVOICING, [b"{nope", good], first_offset=7000), "w"
    )
    assert reply == {"batchItemFailures": []}
    assert len(invoices_of(tenant)) == 1
    assert any(d.source == f"{topics.INVOICING}-0@7000" for d in dead_letters("invoice_worker"))
