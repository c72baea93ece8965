"""The dispatcher (Kafka batches through the consumer helper, as MSK delivers them) and the delivery
worker (a real HTTP receiver on localhost) on moto: one delivery per (event, endpoint) however often
a batch is replayed; the same `webhook-id` on a retry after a timeout; Retry-After; 5 days of
failures disable; exhausted → manual retry; a deleted endpoint stops its deliveries; one claim
per attempt; the sweep and the test clock's hint read the due index."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.webhook_receiver import Receiver
from meterplex.platform import topics
from meterplex.platform.audit import SYSTEM
from meterplex.platform.auth import Role
from meterplex.platform.clock import iso
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import correlated
from meterplex.platform.settings import WebhookDeliverySettings, load
from meterplex.webhooks.delivery import DeliveryWorker, Policy, Result
from meterplex.webhooks.dependencies import webhook_service
from meterplex.webhooks.models import DeliveryRef, DeliveryStatus
from meterplex.webhooks.queue import AttemptQueue
from meterplex.webhooks.repository import WebhookRepository
from meterplex.webhooks.retries import RETRY_DELAYS
from meterplex.webhooks.secrets import SecretBox
from meterplex.webhooks.sender import send
from meterplex.webhooks.ssrf import system_resolver
from tests.integration.billing.helpers import function, invoke
from tests.integration.catalog.handlers import call, user
from tests.integration.webhooks.conftest import QueueReader
from tests.integration.webhooks.test_endpoints_api import audit_trail
from tests.support.kafka_events import batch
from tests.support.log_lines import captured_log_lines

pytestmark = pytest.mark.usefixtures("webhook_aws")
BASE = "/api/v1/webhook-endpoints"
T0 = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)


def owner() -> tuple[str, dict[str, Any]]:
    tenant = str(uuid.uuid4())
    return tenant, {"principal": user({tenant: Role.OWNER}), "tenant": tenant}


def endpoint(who: dict[str, Any], url: str, types: list[str], **fields: Any) -> dict[str, Any]:
    reply = call("webhook_endpoints_api", "POST", BASE, {"url": url, "eventTypes": types} | fields, **who)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def deliveries(who: dict[str, Any], endpoint_id: str) -> list[dict[str, Any]]:
    reply = call("webhook_endpoints_api", "GET", f"{BASE}/{endpoint_id}/deliveries?limit=100", **who)
    assert reply.status == 200, reply.body
    return reply.body["data"]  # type: ignore[no-any-return]


def invoice_event(tenant: str, type_: str = "invoice.finalized") -> DomainEvent:
    return DomainEvent.new(
        type_,
        tenant_id=tenant,
        at=T0,
        actor="system",
        data={"resource": "invoice", "resourceId": "inv-1", "changes": {"id": "inv-1", "total": 2_050}},
    )


def worker(timeout_s: float = 15.0) -> DeliveryWorker:
    settings = load(WebhookDeliverySettings)
    return DeliveryWorker(
        WebhookRepository(),
        SecretBox(settings.webhook_key),
        AttemptQueue(settings.webhook_queue_url),
        Policy(local=True, timeout_s=timeout_s),
        send=send,
        resolve=system_resolver,
    )


def test_a_replayed_kafka_batch_creates_no_second_delivery(queue: QueueReader, receiver: Receiver) -> None:
    tenant, who = owner()
    finance = endpoint(who, f"{receiver.url}/finance", ["invoice.finalized", "subscription.updated"])
    also = endpoint(who, f"{receiver.url}/also", ["invoice.finalized"])
    other_type = endpoint(who, f"{receiver.url}/other", ["payment.failed"])
    disabled = endpoint(who, f"{receiver.url}/off", ["invoice.finalized"], enabled=False)
    _, stranger = owner()
    foreign = endpoint(stranger, f"{receiver.url}/foreign", ["invoice.finalized"])
    events = [invoice_event(tenant), invoice_event(tenant, "subscription.renewed")]
    values = [e.to_json().encode() for e in events]
    dispatcher = function("webhook_dispatcher")

    first = invoke(dispatcher, batch(topics.DOMAIN, values), "webhook_dispatcher")
    replayed = invoke(dispatcher, batch(topics.DOMAIN, values + values), "webhook_dispatcher")

    assert first == replayed == {"batchItemFailures": []}
    assert sorted((d["eventType"], d["eventId"]) for d in deliveries(who, finance["id"])) == sorted(
        [("invoice.finalized", events[0].id), ("subscription.updated", events[1].id)]
    )
    assert [d["eventId"] for d in deliveries(who, also["id"])] == [events[0].id]
    for nothing in (other_type, disabled):
        assert deliveries(who, nothing["id"]) == []
    assert deliveries(stranger, foreign["id"]) == []
    # one message per delivery created, none for the replays (among this test's endpoints: an
    # earlier test's delayed retry may become visible meanwhile)
    ours = {e["id"] for e in (finance, also, other_type, disabled, foreign)}
    queued = [r for r in queue.drain() if r.endpoint_id in ours]
    assert sorted(r.endpoint_id for r in queued) == sorted([finance["id"], finance["id"], also["id"]])


def test_a_retry_after_a_timeout_carries_the_same_webhook_id_and_body(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/slow", ["webhook.test"])
    receiver.script("/slow", [(200, {}, 2.0), 200])  # the first answer comes too late
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    now = datetime.now(UTC) + timedelta(seconds=1)
    slow = worker(timeout_s=0.5)

    assert slow.attempt(ref, now) is Result.RETRYING
    pending = deliveries(who, hook["id"])[0]
    assert pending["status"] == "PENDING" and "timed out" in pending["attempts"][0]["error"]
    due = datetime.fromisoformat(pending["nextRetryAt"].replace("Z", "+00:00"))
    assert slow.attempt(ref, due - timedelta(milliseconds=1)) is Result.SKIPPED  # not due yet
    assert slow.attempt(ref, due) is Result.SUCCEEDED

    seen = receiver.at("/slow")
    assert len(seen) == 2
    assert seen[0].headers["webhook-id"] == seen[1].headers["webhook-id"] == test["eventId"]
    assert seen[0].body == seen[1].body
    done = deliveries(who, hook["id"])[0]
    assert (done["status"], done["attemptCount"], done["lastStatusCode"]) == ("SUCCEEDED", 2, 200)


def test_retry_after_is_honoured_on_429(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/busy", ["webhook.test"])
    receiver.script("/busy", [(429, {"retry-after": "3600"})])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert worker().attempt(DeliveryRef(tenant, hook["id"], test["deliveryId"]), now) is Result.RETRYING
    pending = deliveries(who, hook["id"])[0]
    due = datetime.fromisoformat(pending["nextRetryAt"].replace("Z", "+00:00"))
    assert timedelta(hours=1, milliseconds=-1) <= due - now < timedelta(hours=1, seconds=1)
    assert pending["attempts"][0]["statusCode"] == 429 and pending["attempts"][0]["responseExcerpt"]


def test_an_endpoint_failing_for_5_days_is_disabled(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/down", ["webhook.test"])
    receiver.script("/down", [500])
    service = webhook_service()
    first = service.send_test(tenant, hook["id"], actor=SYSTEM)
    start = first.created_at + timedelta(seconds=1)
    assert worker().attempt(DeliveryRef(tenant, hook["id"], first.id), start) is Result.RETRYING
    assert call("webhook_endpoints_api", "GET", f"{BASE}/{hook['id']}", **who).body["failingSince"] == iso(
        start
    )
    second = service.send_test(tenant, hook["id"], actor=SYSTEM)
    later = start + timedelta(days=5)
    worker().attempt(DeliveryRef(tenant, hook["id"], second.id), later)
    after = call("webhook_endpoints_api", "GET", f"{BASE}/{hook['id']}", **who).body
    assert (after["enabled"], after["disabledReason"]) == (False, "FAILING")
    # the platform's own write is on the tenant's audit trail, by `system`
    (disabled,) = [e for e in audit_trail(tenant) if e["data"]["action"] == "disable"]
    assert disabled["actor"] == "system" and disabled["data"]["resourceId"] == hook["id"]
    assert (disabled["data"]["before"]["enabled"], disabled["data"]["after"]["disabledReason"]) == (
        True,
        "FAILING",
    )
    # the first delivery's next claim finds the endpoint disabled: FAILED, nothing sent
    sent = len(receiver.at("/down"))
    assert worker().attempt(DeliveryRef(tenant, hook["id"], first.id), later) is Result.FAILED
    assert len(receiver.at("/down")) == sent


def test_an_exhausted_delivery_can_be_retried_by_hand(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/never", ["webhook.test"])
    receiver.script("/never", [503] * 10 + [200])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    at = datetime.now(UTC) + timedelta(seconds=1)
    results = []
    for _ in range(len(RETRY_DELAYS) + 1):
        results.append(worker().attempt(ref, at))
        pending = deliveries(who, hook["id"])[0]
        if pending["nextRetryAt"]:
            at = datetime.fromisoformat(pending["nextRetryAt"].replace("Z", "+00:00"))
    assert results == [Result.RETRYING] * len(RETRY_DELAYS) + [Result.EXHAUSTED]
    exhausted = deliveries(who, hook["id"])[0]
    assert (exhausted["status"], exhausted["attemptCount"], exhausted["nextRetryAt"]) == (
        "EXHAUSTED",
        10,
        None,
    )

    retried = call(
        "webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/deliveries/{ref.delivery_id}/retry", **who
    )
    assert retried.status == 202 and retried.body["status"] == "PENDING", retried.body
    (audit,) = [e["data"] for e in audit_trail(tenant) if e["data"]["action"] == "retry"]
    assert (audit["resource"], audit["resourceId"]) == ("webhook_delivery", ref.delivery_id)
    assert (audit["before"]["status"], audit["after"]["status"]) == ("EXHAUSTED", "PENDING")
    assert (audit["before"]["step"], audit["after"]["step"], audit["after"]["manual"]) == (10, 0, True)
    assert worker().attempt(ref, at + timedelta(days=1)) is Result.SUCCEEDED
    done = deliveries(who, hook["id"])[0]
    assert (done["status"], done["attemptCount"], done["attempts"][-1]["manual"]) == ("SUCCEEDED", 11, True)
    assert len({r.headers["webhook-id"] for r in receiver.at("/never")}) == 1
    _, stranger = owner()
    assert (
        call(
            "webhook_endpoints_api",
            "POST",
            f"{BASE}/{hook['id']}/deliveries/{ref.delivery_id}/retry",
            **stranger,
        ).status
        == 404
    )
    missing = call(
        "webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/deliveries/{uuid.uuid4()}/retry", **who
    )
    assert missing.code == "WEBHOOK_DELIVERY_NOT_FOUND"


def test_a_deleted_endpoints_pending_delivery_fails_unsent(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/deleted", ["webhook.test"])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    assert call("webhook_endpoints_api", "DELETE", f"{BASE}/{hook['id']}", **who).status == 204
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    assert worker().attempt(ref, datetime.now(UTC) + timedelta(seconds=1)) is Result.FAILED
    assert receiver.at("/deleted") == []
    stopped = WebhookRepository().delivery(ref)
    assert stopped is not None and stopped.status is DeliveryStatus.FAILED
    assert stopped.attempts[-1].error == "endpoint deleted"


def test_concurrent_attempts_of_one_delivery_send_it_once(receiver: Receiver) -> None:
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/race", ["webhook.test"])
    receiver.script("/race", [(200, {}, 0.3)])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    now = datetime.now(UTC) + timedelta(seconds=1)
    results: list[Result] = []
    threads = [threading.Thread(target=lambda: results.append(worker().attempt(ref, now))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([Result.SUCCEEDED] + [Result.SKIPPED] * 3)
    assert len(receiver.at("/race")) == 1


def test_the_sweep_and_the_hint_read_the_due_index(queue: QueueReader, receiver: Receiver) -> None:
    from meterplex.webhooks import due

    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/later", ["webhook.test"])
    receiver.script("/later", [500])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    ref = DeliveryRef(tenant, hook["id"], test["deliveryId"])
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert worker().attempt(ref, now) is Result.RETRYING
    queue.drain()
    due_at = WebhookRepository().delivery(ref).next_attempt_at  # type: ignore[union-attr]
    assert due_at is not None and due.next_due_at(now) is not None
    assert due.next_due_at(now) <= due_at  # the earliest of every pending delivery
    early = worker().sweep(due_at - timedelta(milliseconds=1))
    assert ref not in queue.drain() and early["asOf"] == iso(due_at - timedelta(milliseconds=1))
    assert not due.sweep_completed(worker().sweep(due_at))  # enqueued, not yet attempted
    assert ref in queue.drain()


def test_the_worker_handler_dead_letters_poison_and_attempts_the_rest(receiver: Receiver) -> None:
    from meterplex.platform.dead_letters import dead_letters

    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/mixed", ["webhook.test"])
    test = call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body
    good = f'{{"tenantId":"{tenant}","endpointId":"{hook["id"]}","deliveryId":"{test["deliveryId"]}"}}'
    poison_id = f"poison-{uuid.uuid4()}"
    event = {
        "Records": [
            {"messageId": poison_id, "body": "not json"},
            {"messageId": "good", "body": good},
        ]
    }
    assert invoke(function("webhook_delivery"), event, "webhook_delivery") == {"batchItemFailures": []}
    assert [r.headers["webhook-id"] for r in receiver.at("/mixed")] == [test["eventId"]]
    assert f"sqs:{poison_id}" in {d.source for d in dead_letters("webhook_delivery")}


def sqs_message(message_id: str, body: str, correlation_id: str) -> dict[str, Any]:
    attribute = {"stringValue": correlation_id, "dataType": "String"}
    return {"messageId": message_id, "body": body, "messageAttributes": {"x-correlation-id": attribute}}


def test_the_worker_handler_logs_each_message_under_its_correlation_id(receiver: Receiver) -> None:
    # GIVEN two pending deliveries and a poison message, queued by three different requests
    tenant, who = owner()
    hook = endpoint(who, f"{receiver.url}/traced", ["webhook.test"])
    tests = [call("webhook_endpoints_api", "POST", f"{BASE}/{hook['id']}/test", **who).body for _ in range(2)]
    bodies = [
        f'{{"tenantId":"{tenant}","endpointId":"{hook["id"]}","deliveryId":"{t["deliveryId"]}"}}'
        for t in tests
    ]
    poison_id = f"poison-{uuid.uuid4()}"
    event = {
        "Records": [
            sqs_message("first", bodies[0], "req-first"),
            sqs_message(poison_id, "not json", "req-poison"),
            sqs_message("second", bodies[1], "req-second"),
        ]
    }
    # WHEN the worker attempts them in one batch (two attempts at once, on threads)
    with captured_log_lines() as lines:
        assert invoke(function("webhook_delivery"), event, "webhook_delivery") == {"batchItemFailures": []}
    # THEN each line names the correlation id of its own message
    attempts = {
        line["delivery_id"]: line.get("correlation_id")
        for line in lines()
        if line["message"] == "webhook attempt"
    }
    assert attempts == {tests[0]["deliveryId"]: "req-first", tests[1]["deliveryId"]: "req-second"}
    [poison] = [line for line in lines() if line["message"] == "poison webhook message dead-lettered"]
    assert poison.get("correlation_id") == "req-poison"


def test_the_attempt_queue_carries_the_correlation_id_being_handled(queue: QueueReader) -> None:
    ref = DeliveryRef("t-1", "we-1", f"wd-{uuid.uuid4().hex[:8]}")
    with correlated("req-queued"):
        AttemptQueue(load(WebhookDeliverySettings).webhook_queue_url).enqueue([ref])
    # only this test's message: an earlier test's delayed retry may become visible meanwhile
    [message] = [m for m in queue.messages() if json.loads(m["Body"])["deliveryId"] == ref.delivery_id]
    assert message["MessageAttributes"]["x-correlation-id"]["StringValue"] == "req-queued"
