"""The schedules construct takes whatever the topology declares: a fake entry here (the real
billing schedule is asserted on the synthesized stack, tests/infra/test_billing_stack.py)."""

from __future__ import annotations

import json

from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from infra import topology
from infra.constructs.config import StageConfig, Topology
from infra.constructs.schedules import Schedules


def test_schedules_invoke_their_function_with_retries_and_a_dlq() -> None:
    # GIVEN a topology declaring one schedule
    fake = Topology.from_module()
    fake = Topology(
        **{
            **fake.__dict__,
            "schedules": (topology.Schedule("billing-run", "billing_scheduler", "cron(0 1 * * ? *)", 60),),
        }
    )
    stack = Stack(App(), "SchedulesUnderTest")
    function = lambda_.Function(
        stack,
        "BillingScheduler",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
    )

    # WHEN the construct is built from it
    Schedules(
        stack, "Schedules", config=StageConfig(), topology=fake, functions={"billing_scheduler": function}
    )

    # THEN one schedule invokes the function, with a role allowed to invoke exactly that function
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "Name": "meterplex-dev-billing-run",
            "ScheduleExpression": "cron(0 1 * * ? *)",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": Match.object_like(
                {
                    "Arn": {"Fn::GetAtt": [Match.string_like_regexp("BillingScheduler"), "Arn"]},
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 3}),
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                }
            ),
        },
    )
    # the input is the Scheduled Event, `time` = the fire time (what the local scheduler and advance send)
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    parts = schedule["Properties"]["Target"]["Input"]["Fn::Join"][1]
    event = json.loads("".join(part if isinstance(part, str) else part["Ref"] for part in parts))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.scheduler"
    assert event["time"] == "<aws.scheduler.scheduled-time>"
    assert event["id"] == "<aws.scheduler.execution-id>"
    assert event["resources"] == ["<aws.scheduler.schedule-arn>"]
    assert (event["account"], event["region"]) == ("AWS::AccountId", "AWS::Region")
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "lambda:InvokeFunction",
                                "Resource": {
                                    "Fn::GetAtt": [Match.string_like_regexp("BillingScheduler"), "Arn"]
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_schedules_no_resources() -> None:
    stack = Stack(App(), "NoSchedules")
    none = Topology(**{**Topology.from_module().__dict__, "schedules": ()})
    Schedules(stack, "Schedules", config=StageConfig(), topology=none, functions={})
    Template.from_stack(stack).resource_count_is("AWS::Scheduler::Schedule", 0)
