"""Event source mappings: DynamoDB streams (the outbox) and Kafka topics → functions.

Every mapping reports partial batch failures (`ReportBatchItemFailures`): the functions use
Powertools' BatchProcessor, so one bad record is retried alone and never replays the batch.
A mapping that exhausts its retries sends where the batch was to an encrypted SQS DLQ; every DLQ
feeds `dead_letter_intake`, which re-reads the records — stream records by sequence number (ADR
0091), Kafka records by offset (ADR 0094) — into the one dead-letter store.
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.config import StageConfig, Topology
from infra.constructs.kafka import Kafka
from infra.constructs.nag import suppress
from infra.constructs.tables import Tables

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
DLQ_RETENTION = Duration.days(14)


def dead_letter_queue(
    scope: Construct, id: str, *, config: StageConfig, consumer_timeout: Duration | None = None
) -> sqs.Queue:
    """`consumer_timeout`: the timeout of the function the queue triggers, if one does (its
    visibility timeout is then 6 × that, as AWS advises; Lambda refuses a mapping whose queue's is
    shorter than the function's timeout)."""
    queue = sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DLQ_RETENTION,
        removal_policy=config.removal_policy,
        visibility_timeout=(
            Duration.seconds(6 * consumer_timeout.to_seconds()) if consumer_timeout is not None else None
        ),
    )
    suppress(queue, "SQS3", "this queue is itself a dead-letter queue (event source / schedule failures)")
    return queue


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        topology: Topology,
        functions: dict[str, lambda_.Function],
        tables: Tables,
        kafka: Kafka | None,
    ) -> None:
        super().__init__(scope, id)
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.stream_functions: list[str] = []
        self.kafka_functions: list[str] = []
        # One on-failure destination for every mapping: a message names its source (the stream's
        # ARN and sequence numbers, or the topic, partition and offsets), and a queue per mapping
        # would be three resources each against CloudFormation's 500 per stack.
        shared: sqs.Queue | None = None
        intake = next((f for f in topology.functions if f.takes_dead_letters), None)

        def failures() -> sqs.Queue:
            nonlocal shared
            if shared is None:
                shared = dead_letter_queue(
                    self,
                    "Dlq",
                    config=config,
                    consumer_timeout=Duration.seconds(intake.timeout_s) if intake else None,
                )
                self.dead_letter_queues["Pipeline"] = shared
            return shared

        for trigger in topology.stream_triggers:
            key = f"{trigger.table.title()}To{_pascal(trigger.function)}"
            function = functions[trigger.function]
            dlq = failures()
            stream_arn = tables.by_name[trigger.table].table_stream_arn
            assert stream_arn is not None
            mapping = lambda_.CfnEventSourceMapping(
                self,
                f"{key}Stream",
                function_name=function.function_name,
                event_source_arn=stream_arn,
                starting_position="TRIM_HORIZON",
                batch_size=trigger.batch_size,
                maximum_batching_window_in_seconds=trigger.max_batching_window_s,
                bisect_batch_on_function_error=True,
                maximum_retry_attempts=trigger.retry_attempts,
                function_response_types=[REPORT_BATCH_ITEM_FAILURES],
                filter_criteria=lambda_.CfnEventSourceMapping.FilterCriteriaProperty(
                    filters=[
                        lambda_.CfnEventSourceMapping.FilterProperty(pattern=_json(f))
                        for f in trigger.filters
                    ]
                ),
                destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                    on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(destination=dlq.queue_arn)
                ),
            )
            dlq.grant_send_messages(function)
            # The mapping is validated against the role at creation: the grants must exist first.
            if function.role:
                mapping.node.add_dependency(function.role)
            self.stream_functions.append(trigger.function)

        for kafka_trigger in topology.kafka_triggers:
            if kafka is None:
                raise ValueError("a Kafka trigger needs the Kafka construct")
            function = functions[kafka_trigger.function]
            key = f"{_pascal(kafka_trigger.topic)}To{_pascal(kafka_trigger.function)}"
            # Consumers dead-letter poison records themselves; this queue catches the batches that
            # keep failing (e.g. a bug), so a partition is never blocked and nothing is lost.
            kafka_dlq = failures()
            mapping = lambda_.CfnEventSourceMapping(
                self,
                key,
                function_name=function.function_name,
                event_source_arn=kafka.cluster_arn,
                topics=[kafka_trigger.topic],
                starting_position="TRIM_HORIZON",
                batch_size=kafka_trigger.batch_size,
                maximum_batching_window_in_seconds=kafka_trigger.max_batching_window_s,
                amazon_managed_kafka_event_source_config=lambda_.CfnEventSourceMapping.AmazonManagedKafkaEventSourceConfigProperty(
                    consumer_group_id=kafka_trigger.group_id
                ),
                function_response_types=[REPORT_BATCH_ITEM_FAILURES],
                destination_config=lambda_.CfnEventSourceMapping.DestinationConfigProperty(
                    on_failure=lambda_.CfnEventSourceMapping.OnFailureProperty(
                        destination=kafka_dlq.queue_arn
                    )
                ),
            )
            kafka_dlq.grant_send_messages(function)
            if function.role:
                mapping.node.add_dependency(function.role)
            mapping.node.add_dependency(kafka.topics)
            self.kafka_functions.append(kafka_trigger.function)

        if intake is not None and self.dead_letter_queues:
            self._wire_intake(functions[intake.name])

    def _wire_intake(self, intake: lambda_.Function) -> None:
        """Every on-failure queue feeds the intake, which re-reads the failed records by stream
        sequence number or Kafka offset (the queues hold only where they were: ADR 0091, 0094; its
        stream and topic reads are granted with its role, in `Functions`)."""
        for queue in self.dead_letter_queues.values():
            intake.add_event_source(
                sources.SqsEventSource(queue, batch_size=10, report_batch_item_failures=True)
            )


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.replace(".", "_").replace("-", "_").split("_"))


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
