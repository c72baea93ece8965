"""EventBridge Scheduler: one schedule per topology entry, invoking its function with retries.

The target's input carries the schedule's name and its **scheduled time** (the context attribute
`<aws.scheduler.scheduled-time>`), like the Scheduled Event's `time` locally: a function that bills
"what was due at the fire time" (billing_scheduler) stays exact when a retry runs late.
"""

from __future__ import annotations

import json

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.config import StageConfig, Topology
from infra.constructs.pipeline import _pascal, dead_letter_queue

MAX_RETRIES = 3
MAX_EVENT_AGE_S = 3600


SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(name: str) -> str:
    return json.dumps({"source": "meterplex.schedule", "schedule": name, "time": SCHEDULED_TIME})


class Schedules(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        topology: Topology,
        functions: dict[str, lambda_.Function],
    ) -> None:
        super().__init__(scope, id)
        self.schedules: list[scheduler.CfnSchedule] = []
        self.dead_letter_queue: sqs.Queue | None = None
        if not topology.schedules:
            return
        self.dead_letter_queue = dead_letter_queue(self, "Dlq", config=config)
        role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler: invoke the scheduled functions only",
        )
        self.dead_letter_queue.grant_send_messages(role)
        for spec in topology.schedules:
            function = functions[spec.function]
            role.add_to_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
            )
            self.schedules.append(
                scheduler.CfnSchedule(
                    self,
                    _pascal(spec.name),
                    name=config.name(spec.name),
                    schedule_expression=spec.expression,
                    schedule_expression_timezone="UTC",
                    flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                    target=scheduler.CfnSchedule.TargetProperty(
                        arn=function.function_arn,
                        role_arn=role.role_arn,
                        input=schedule_input(spec.name),
                        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                            maximum_retry_attempts=MAX_RETRIES, maximum_event_age_in_seconds=MAX_EVENT_AGE_S
                        ),
                        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                            arn=self.dead_letter_queue.queue_arn
                        ),
                    ),
                )
            )
