"""Kafka: MSK Serverless (default) or a small provisioned cluster, both with IAM auth, plus topics.

`-c kafka=provisioned` selects two kafka.t3.small brokers, the cheapest floor (docs/cost.md,
docs/decisions/0002-msk-options.md). Topics are created by a custom resource in the VPC
(docs/decisions/0003-kafka-topics-custom-resource.md): MSK Serverless cannot auto-create them.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_msk as msk
from constructs import Construct

from infra.constructs.config import StageConfig, Topology
from infra.constructs.network import Network
from infra.constructs.runtime import Runtime

PROVISIONED_KAFKA_VERSION = "3.8.x"
PROVISIONED_INSTANCE = "kafka.t3.small"
PROVISIONED_BROKERS = 2
PROVISIONED_VOLUME_GB = 20


class Kafka(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        topology: Topology,
        network: Network,
        runtime: Runtime,
    ) -> None:
        super().__init__(scope, id)
        subnet_ids = network.vpc.select_subnets(subnet_type=network.subnets.subnet_type).subnet_ids
        security_groups = [network.kafka_cluster.security_group_id]
        iam_auth = {"sasl": {"iam": {"enabled": True}}}
        self.cluster: msk.CfnServerlessCluster | msk.CfnCluster
        if config.kafka_mode == "serverless":
            self.cluster = msk.CfnServerlessCluster(
                self,
                "Cluster",
                cluster_name=config.name("kafka"),
                client_authentication=iam_auth,
                vpc_configs=[{"subnetIds": subnet_ids, "securityGroups": security_groups}],
            )
        else:
            broker_logs = logs.LogGroup(
                self, "BrokerLogs", retention=config.log_retention, removal_policy=config.removal_policy
            )
            self.cluster = msk.CfnCluster(
                self,
                "Cluster",
                cluster_name=config.name("kafka"),
                kafka_version=PROVISIONED_KAFKA_VERSION,
                number_of_broker_nodes=PROVISIONED_BROKERS,
                broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                    instance_type=PROVISIONED_INSTANCE,
                    client_subnets=subnet_ids,
                    security_groups=security_groups,
                    storage_info=msk.CfnCluster.StorageInfoProperty(
                        ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(
                            volume_size=PROVISIONED_VOLUME_GB
                        )
                    ),
                ),
                client_authentication=msk.CfnCluster.ClientAuthenticationProperty(
                    sasl=msk.CfnCluster.SaslProperty(iam=msk.CfnCluster.IamProperty(enabled=True)),
                    unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
                ),
                encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                    encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(
                        client_broker="TLS", in_cluster=True
                    )
                ),
                logging_info=msk.CfnCluster.LoggingInfoProperty(
                    broker_logs=msk.CfnCluster.BrokerLogsProperty(
                        cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                            enabled=True, log_group=broker_logs.log_group_name
                        )
                    )
                ),
            )
        self.cluster.apply_removal_policy(config.removal_policy)
        self.cluster_arn: str = self.cluster.attr_arn

        # Bootstrap brokers are not a CloudFormation attribute; a custom resource looks them up
        # (outside the VPC: the MSK control plane has no endpoint there), then another creates the
        # topics from inside the VPC, where the brokers are.
        bootstrap_fn = runtime.admin_function(
            self, "BootstrapLookup", description="Custom resource: MSK bootstrap brokers (IAM)"
        )
        bootstrap_fn.add_to_role_policy(
            iam.PolicyStatement(actions=["kafka:GetBootstrapBrokers"], resources=[self.cluster_arn])
        )
        bootstrap = CustomResource(
            self,
            "Bootstrap",
            service_token=bootstrap_fn.function_arn,
            resource_type="Custom::KafkaBootstrap",
            properties={"ClusterArn": self.cluster_arn},
        )
        self.bootstrap_brokers: str = bootstrap.get_att_string("BootstrapBrokers")

        topics_fn = runtime.admin_function(
            self,
            "TopicAdmin",
            description="Custom resource: create Kafka topics from infra/topology.py",
            bootstrap=self.bootstrap_brokers,
            network=network,
        )
        topics_fn.add_to_role_policy(
            iam.PolicyStatement(actions=["kafka-cluster:Connect"], resources=[self.cluster_arn])
        )
        topics_fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic"],
                resources=[self.topic_arn(t.name) for t in topology.topics],
            )
        )
        self.topics = CustomResource(
            self,
            "Topics",
            service_token=topics_fn.function_arn,
            resource_type="Custom::KafkaTopics",
            properties={
                "Topics": [{"Name": t.name, "Partitions": str(t.partitions)} for t in topology.topics]
            },
        )

    # ARNs for kafka-cluster IAM actions: `<kind>/<cluster name>/<cluster uuid>/<name>`, where name
    # and uuid come from the cluster ARN (`...:cluster/<name>/<uuid>`), known only after creation.
    def _scoped_arn(self, kind: str, name: str) -> str:
        parts = Fn.split("/", self.cluster_arn)
        stack = Stack.of(self)
        return Fn.join(
            "",
            [
                f"arn:{stack.partition}:kafka:{stack.region}:{stack.account}:{kind}/",
                Fn.select(1, parts),
                "/",
                Fn.select(2, parts),
                f"/{name}",
            ],
        )

    def topic_arn(self, topic: str) -> str:
        return self._scoped_arn("topic", topic)

    def group_arn(self, group_id: str) -> str:
        return self._scoped_arn("group", group_id)
