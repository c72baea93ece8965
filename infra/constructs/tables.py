"""DynamoDB tables from the topology: on-demand, PITR, TTL, streams NEW_AND_OLD_IMAGES, GSIs."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.constructs.config import StageConfig, Topology


class Tables(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StageConfig, topology: Topology) -> None:
        super().__init__(scope, id)
        self.by_name: dict[str, dynamodb.Table] = {}
        for spec in topology.tables:
            table = dynamodb.Table(
                self,
                spec.name.title(),
                table_name=config.name(spec.name),
                partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING),
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                time_to_live_attribute=spec.ttl_attribute,
                # The outbox relay reads inserts; audit and replays need the old image too.
                stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                deletion_protection=config.is_prod,
                removal_policy=config.removal_policy,
            )
            for index in spec.indexes:
                table.add_global_secondary_index(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(
                        name=index.partition_key, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
            self.by_name[spec.name] = table

    def index_arns(self, topology: Topology, name: str) -> list[str]:
        """The table's declared GSIs by ARN: grants name each index instead of `index/*`."""
        table = self.by_name[name]
        return [f"{table.table_arn}/index/{index.name}" for index in topology.table(name).indexes]
