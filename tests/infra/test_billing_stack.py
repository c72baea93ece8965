"""Billing in the synthesized stack: the daily schedule targets billing_scheduler with its fire
time, the billing topics and consumers exist, and a run that did not happen raises an alarm."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra import topology
from tests.infra.conftest import Synthesized
from tests.infra.test_service_stack import function_ids, role_statements


def test_the_daily_schedule_targets_billing_scheduler_with_its_fire_time(dev: Synthesized) -> None:
    (schedule,) = [s for s in topology.SCHEDULES if s.function == "billing_scheduler"]
    (resource,) = [
        r
        for r in dev.of_type("AWS::Scheduler::Schedule").values()
        if r["Properties"]["Name"] == f"meterplex-dev-{schedule.name}"
    ]
    props = resource["Properties"]
    assert props["Name"] == f"meterplex-dev-{schedule.name}"
    assert props["ScheduleExpression"] == "cron(5 0 * * ? *)" == schedule.expression
    assert props["ScheduleExpressionTimezone"] == "UTC"
    target = props["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [function_ids(dev)["billing_scheduler"], "Arn"]}
    # the Scheduled Event (tests/infra/test_schedules.py checks its shape): `time` = the fire time
    parts = target["Input"]["Fn::Join"][1]
    event = json.loads("".join(part if isinstance(part, str) else part["Ref"] for part in parts))
    assert event["time"] == "<aws.scheduler.scheduled-time>" and event["source"] == "aws.scheduler"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 3 and "DeadLetterConfig" in target
    assert schedule.completion == "meterplex.billing.scheduler:run_completed"


def test_billing_consumers_read_their_topics_and_the_scheduler_writes_its_own(dev: Synthesized) -> None:
    mappings = [m["Properties"] for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()]
    consumers = {(m["Topics"][0], m["FunctionName"]["Ref"]) for m in mappings if "Topics" in m}
    ids = function_ids(dev)
    assert (topology.TOPIC_BILLING, ids["ledger_writer"]) in consumers
    assert (topology.TOPIC_INVOICING, ids["invoice_worker"]) in consumers
    writes = [
        s
        for s in role_statements(dev, ids["billing_scheduler"])
        if "kafka-cluster:WriteData" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert (
        writes
        and topology.TOPIC_INVOICING in json.dumps(writes)
        and topology.TOPIC_BILLING not in json.dumps(writes)
    )
    # the scheduler only reads DynamoDB (the due index); the worker and the ledger writer write
    scheduler_actions = json.dumps(role_statements(dev, ids["billing_scheduler"]))
    assert "dynamodb:Query" in scheduler_actions and "dynamodb:PutItem" not in scheduler_actions


def test_a_billing_run_that_did_not_happen_raises_an_alarm(dev: Synthesized) -> None:
    dev.monitoring.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "TreatMissingData": "breaching",
            "AlarmDescription": Match.string_like_regexp("billing_scheduler"),
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {
                                    "Metric": Match.object_like(
                                        {
                                            "MetricName": "Invocations",
                                            "Dimensions": [
                                                {
                                                    "Name": "FunctionName",
                                                    # a parameter of the nested monitoring stack
                                                    "Value": Match.any_value(),
                                                }
                                            ],
                                        }
                                    ),
                                    "Period": 86400,
                                }
                            )
                        }
                    )
                ]
            ),
        },
    )
