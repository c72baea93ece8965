"""The VPC for Kafka: private isolated subnets in two AZs, no NAT, VPC endpoints for what runs there.

Only the Kafka cluster, the functions that open Kafka connections, and the MSK event source
pollers live here. Without a NAT gateway, AWS APIs are reached through endpoints: DynamoDB and S3
(gateway, free; S3 carries custom-resource responses), and Lambda + STS (interface; the MSK event
source mapping needs them), X-Ray (interface; traces from VPC functions) and DynamoDB Streams
(interface; the dead-letter intake, in the VPC to re-read Kafka records, re-reads stream records
too, and the DynamoDB gateway endpoint does not serve Streams: ADR 0094).
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.config import StageConfig
from infra.constructs.nag import suppress

KAFKA_IAM_PORT = 9098
INTERFACE_ENDPOINTS = {
    "Lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "Sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "XRay": ec2.InterfaceVpcEndpointAwsService.XRAY,
    "DynamoDbStreams": ec2.InterfaceVpcEndpointAwsService.DYNAMODB_STREAMS,
}


class Network(Construct):
    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))
        for name, service in INTERFACE_ENDPOINTS.items():
            self.vpc.add_interface_endpoint(
                name, service=service, subnets=self.subnets, private_dns_enabled=True
            )

        suppress(
            self.vpc,
            "EC23",
            "the interface endpoints' security groups admit HTTPS from the VPC's own CIDR only; the rule "
            "cannot evaluate the CIDR while it is a CloudFormation token",
        )

        self.kafka_clients = ec2.SecurityGroup(
            self, "KafkaClients", vpc=self.vpc, description="Lambda functions that connect to Kafka"
        )
        self.kafka_cluster = ec2.SecurityGroup(
            self, "KafkaCluster", vpc=self.vpc, description="MSK brokers and the MSK event source pollers"
        )
        self.kafka_cluster.add_ingress_rule(
            self.kafka_clients, ec2.Port.tcp(KAFKA_IAM_PORT), "Kafka (IAM/SASL) from functions"
        )
        # The MSK event source mapping's pollers run with the cluster's own security group.
        self.kafka_cluster.add_ingress_rule(
            self.kafka_cluster, ec2.Port.tcp(KAFKA_IAM_PORT), "Kafka (IAM/SASL) from event source pollers"
        )
