"""EventBridge Scheduler: one schedule per topology entry, invoking its function with retries.

The target's input is EventBridge Scheduler's 'Scheduled Event' filled with its context attributes
(`time` = `<aws.scheduler.scheduled-time>`), the same event the local scheduler and the test
clock's advance send (`meterplex.platform.schedules.event_template`).
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.config import StageConfig, Topology
from infra.constructs.pipeline import _pascal, dead_letter_queue
from meterplex.platform.schedules import event_template

MAX_RETRIES = 3
MAX_EVENT_AGE_S = 3600
SCHEDULED_EVENT = event_template(
    event_id="<aws.scheduler.execution-id>",
    account=Aws.ACCOUNT_ID,
    region=Aws.REGION,
    time="<aws.scheduler.scheduled-time>",
    schedule_arn="<aws.scheduler.schedule-arn>",
)


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
                        input=Stack.of(self).to_json_string(SCHEDULED_EVENT),
                        retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                            maximum_retry_attempts=MAX_RETRIES, maximum_event_age_in_seconds=MAX_EVENT_AGE_S
                        ),
                        dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                            arn=self.dead_letter_queue.queue_arn
                        ),
                    ),
                )
            )
