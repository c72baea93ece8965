"""SQS queues and KMS keys declared in the topology (ADR 0080), and the grants functions declare.

| declared in the topology              | granted / created                                               |
| ------------------------------------- | --------------------------------------------------------------- |
| `Queue(name, env_var)`                | an SQS queue (SSE, TLS only), its DLQ after `max_receive_count` |
| `Function.sends_to=(queue,)`          | SendMessage on it; its URL in `Queue.env_var`                   |
| a `QueueTrigger` (consumer)           | the event source mapping (partial batch responses); its URL     |
| `Key(name, env_var)`                  | a symmetric KMS key, rotated yearly                             |
| `Function.keys={key: WRITE}`          | kms:Encrypt; the key's ARN in `Key.env_var`                     |
| `Function.keys={key: READ}`           | kms:Decrypt (and Encrypt: nothing decrypts what it cannot seal) |
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import topology as topo
from infra.constructs.config import StageConfig, Topology
from infra.constructs.pipeline import _pascal, dead_letter_queue

QUEUE_RETENTION = Duration.days(4)  # ≥ the longest retry SQS carries (15 min); the sweep finds the rest


class Queues(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StageConfig, topology: Topology) -> None:
        super().__init__(scope, id)
        self.by_name: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in topology.queues:
            key = _pascal(spec.name)
            dlq = dead_letter_queue(self, f"{key}Dlq", config=config)
            self.dead_letter_queues[key] = dlq
            self.by_name[spec.name] = sqs.Queue(
                self,
                key,
                queue_name=config.name(spec.name),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                retention_period=QUEUE_RETENTION,
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq),
                removal_policy=config.removal_policy,
            )
        self.keys: dict[str, kms.Key] = {
            spec.name: kms.Key(
                self,
                f"{_pascal(spec.name)}Key",
                alias=f"alias/{config.name(spec.name)}",
                description=spec.description,
                enable_key_rotation=True,
                removal_policy=config.removal_policy,
            )
            for spec in topology.keys
        }

    def environment(self, spec: topo.Function, topology: Topology) -> dict[str, str]:
        """The queue URLs and key ARNs `spec` declares (sends to, consumes, uses)."""
        names = set(spec.sends_to) | {t.queue for t in topology.queue_triggers if t.function == spec.name}
        variables = {topology.queue(n).env_var: self.by_name[n].queue_url for n in sorted(names)}
        variables |= {topology.key(n).env_var: self.keys[n].key_arn for n in sorted(spec.keys)}
        return variables

    def grant(self, function: lambda_.Function, spec: topo.Function) -> None:
        for name in spec.sends_to:
            self.by_name[name].grant_send_messages(function)
        for name, access in spec.keys.items():
            # exact actions (the CDK's grant_encrypt adds ReEncrypt*/GenerateDataKey*: not needed)
            actions = ["kms:Encrypt", *(["kms:Decrypt"] if access is topo.Access.READ else [])]
            function.add_to_role_policy(
                iam.PolicyStatement(actions=actions, resources=[self.keys[name].key_arn])
            )

    def wire_triggers(self, topology: Topology, functions: dict[str, lambda_.Function]) -> None:
        for trigger in topology.queue_triggers:
            functions[trigger.function].add_event_source(
                sources.SqsEventSource(
                    self.by_name[trigger.queue],
                    batch_size=trigger.batch_size,
                    max_batching_window=Duration.seconds(trigger.max_batching_window_s) or None,
                    report_batch_item_failures=True,
                )
            )
