"""Outbound webhooks in the CDK (ADR 0080): the attempt queue (encrypted, with its DLQ) and its
mapping to webhook_delivery, the KMS key of the signing secrets (only the worker decrypts), the
dispatcher's Kafka mappings (one per catalogue topic), the retry sweep's schedule with its test-clock
hint, and the alarms on exhausted deliveries and a waiting queue."""

from __future__ import annotations

import json
from typing import Any

from infra import topology
from meterplex.platform import env
from meterplex.testclock.targets import load_targets
from meterplex.webhooks.catalog import SOURCE_TOPICS
from tests.infra.conftest import Synthesized
from tests.infra.test_service_stack import (
    ESM,
    actions_of,
    function_ids,
    function_ref,
    metric_name,
    role_statements,
)
from tests.infra.test_test_clock import variables


def queue_of(synth: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, queue),) = [
        (i, q)
        for i, q in synth.of_type("AWS::SQS::Queue").items()
        if q["Properties"].get("QueueName") == f"meterplex-dev-{name}"
    ]
    return logical_id, queue["Properties"]


def test_the_attempt_queue_is_encrypted_with_a_dead_letter_queue(dev: Synthesized) -> None:
    spec = topology.queue(topology.WEBHOOK_QUEUE)
    queue_id, props = queue_of(dev, spec.name)
    assert props["SqsManagedSseEnabled"] is True
    assert props["VisibilityTimeout"] == spec.visibility_timeout_s
    redrive = props["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == spec.max_receive_count
    dlq = dev.resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
    assert dlq["Type"] == "AWS::SQS::Queue" and dlq["Properties"]["SqsManagedSseEnabled"] is True
    (mapping,) = [
        m["Properties"]
        for m in dev.of_type(ESM).values()
        if m["Properties"].get("EventSourceArn") == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionName"] == function_ref(dev, "webhook_delivery")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    for name in ("webhook_endpoints_api", "webhook_dispatcher", "webhook_delivery"):
        assert variables(dev, name)[env.WEBHOOK_QUEUE_URL] == {"Ref": queue_id}
        assert "sqs:SendMessage" in actions_of(role_statements(dev, function_ids(dev)[name]))


def test_only_the_delivery_worker_may_decrypt_signing_secrets(dev: Synthesized) -> None:
    ((key_id, key),) = dev.of_type("AWS::KMS::Key").items()
    assert key["Properties"]["EnableKeyRotation"] is True
    for name in ("webhook_endpoints_api", "webhook_delivery"):
        assert variables(dev, name)[env.WEBHOOK_KEY] == {"Fn::GetAtt": [key_id, "Arn"]}
    kms = {
        name: {a for a in actions_of(role_statements(dev, function_ids(dev)[name])) if a.startswith("kms:")}
        for name in function_ids(dev)
    }
    assert "kms:Encrypt" in kms["webhook_endpoints_api"] and "kms:Decrypt" not in kms["webhook_endpoints_api"]
    assert {"kms:Encrypt", "kms:Decrypt"} <= kms["webhook_delivery"]
    assert [n for n, actions in kms.items() if "kms:Decrypt" in actions] == ["webhook_delivery"]
    assert env.WEBHOOK_KEY not in variables(dev, "webhook_dispatcher")


def test_the_dispatcher_consumes_every_catalogue_topic(dev: Synthesized) -> None:
    target = function_ref(dev, "webhook_dispatcher")
    topics = sorted(
        m["Properties"]["Topics"][0]
        for m in dev.of_type(ESM).values()
        if m["Properties"]["FunctionName"] == target and "Topics" in m["Properties"]
    )
    assert topics == sorted(SOURCE_TOPICS)


def test_the_retry_sweep_runs_every_minute_and_the_test_clock_knows_its_hint(dev: Synthesized) -> None:
    (schedule,) = [
        s["Properties"]
        for s in dev.of_type("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"] == "meterplex-dev-webhook-retries"
    ]
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [function_ids(dev)["webhook_delivery"], "Arn"]}
    raw = variables(dev, "admin_api")[env.SCHEDULES]
    text = raw if isinstance(raw, str) else json.dumps(raw)
    if isinstance(raw, str):
        (target,) = [t for t in load_targets(text) if t.name == "webhook-retries"]
        assert target.next_work == "meterplex.webhooks.due:next_due_at"
        assert target.completion == "meterplex.webhooks.due:sweep_completed"
    else:  # a token-bearing Fn::Join: the hint is still in the document
        assert "meterplex.webhooks.due:next_due_at" in text


def test_alarms_on_exhausted_deliveries_and_a_waiting_queue(dev: Synthesized) -> None:
    alarms = list(dev.of_type("AWS::CloudWatch::Alarm").values())
    (exhausted,) = [a for a in alarms if metric_name(a) == "WebhookDeliveriesExhausted"]
    props = exhausted["Properties"]
    assert props["Namespace"] == "Meterplex" and props["Threshold"] == 1
    assert props["Dimensions"] == [{"Name": "service", "Value": "meterplex-webhook_delivery"}]
    ages = [a for a in alarms if metric_name(a) == "ApproximateAgeOfOldestMessage"]
    assert len(ages) == 1 and all(a["Properties"]["AlarmActions"] for a in [exhausted, *ages])
