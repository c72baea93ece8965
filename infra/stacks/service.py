"""The Meterplex service stack: composes one construct per capability, all read from the topology."""

from __future__ import annotations

from aws_cdk import CfnOutput, NestedStack, Stack
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.config import StageConfig, Topology
from infra.constructs.functions import Functions, JwtSecret, StripeSecret
from infra.constructs.kafka import Kafka
from infra.constructs.monitoring import Monitoring
from infra.constructs.network import Network
from infra.constructs.pipeline import Pipeline
from infra.constructs.queues import Queues
from infra.constructs.runtime import Runtime
from infra.constructs.schedules import Schedules
from infra.constructs.tables import Tables


class ServiceStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        topology: Topology | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        topology = topology or Topology.from_module()

        tables = Tables(self, "Tables", config=config, topology=topology)
        jwt_secret = JwtSecret(self, "JwtSecret", config=config)
        stripe_secret = StripeSecret(self, "StripeSecret", config=config)
        runtime = Runtime(self, "Runtime", config=config)
        network = Network(self, "Network", config=config) if topology.uses_kafka else None
        kafka = (
            Kafka(self, "Kafka", config=config, topology=topology, network=network, runtime=runtime)
            if network
            else None
        )
        queues = Queues(self, "Queues", config=config, topology=topology)
        functions = Functions(
            self,
            "Functions",
            config=config,
            topology=topology,
            runtime=runtime,
            tables=tables,
            jwt_secret=jwt_secret.secret,
            kafka=kafka,
            network=network,
            queues=queues,
            stripe_secret=stripe_secret.secret,
        )
        queues.wire_triggers(topology, functions.by_name)
        # The REST API (a resource and two methods per route, CORS preflights) lives in a nested stack:
        # one CloudFormation stack holds at most 500 resources, and the API alone is ~half of them.
        api_stack = NestedStack(self, "ApiStack", description=f"Meterplex {config.stage}: the REST API")
        api = Api(api_stack, "Api", config=config, topology=topology, functions=functions.by_name)
        pipeline = Pipeline(
            self,
            "Pipeline",
            config=config,
            topology=topology,
            functions=functions.by_name,
            tables=tables,
            kafka=kafka,
        )
        schedules = Schedules(
            self, "Schedules", config=config, topology=topology, functions=functions.by_name
        )
        dead_letter_queues = dict(pipeline.dead_letter_queues) | queues.dead_letter_queues
        if schedules.dead_letter_queue:
            dead_letter_queues["Schedules"] = schedules.dead_letter_queue
        # Alarms and the dashboard in a nested stack: the service stack stays under
        # CloudFormation's 500 resources per stack (one resource here instead of ~80).
        monitoring = Monitoring(
            NestedStack(self, "MonitoringStack"),
            "Monitoring",
            config=config,
            functions=functions.by_name,
            api=api.rest_api,
            dead_letter_queues=dead_letter_queues,
            stream_functions=pipeline.stream_functions,
            kafka_functions=pipeline.kafka_functions,
            scheduled_functions=tuple(s.function for s in topology.schedules),
            queues=queues.by_name,
            # the consumers (they dead-letter poison) and the intake (exhausted retries)
            dead_lettering_functions=tuple(
                [*pipeline.stream_functions, *pipeline.kafka_functions]
                + [f.name for f in topology.functions if f.takes_dead_letters]
            ),
        )

        CfnOutput(self, "ApiUrl", value=api.url, description="base URL of the REST API (stage included)")
        CfnOutput(self, "JwtSecretArn", value=jwt_secret.secret.secret_arn)
        CfnOutput(self, "StripeSecretArn", value=stripe_secret.secret.secret_arn)
        CfnOutput(self, "AlarmTopicArn", value=monitoring.topic.topic_arn)
        for name, table in tables.by_name.items():
            CfnOutput(self, f"{name.title()}TableName", value=table.table_name)
        if kafka:
            CfnOutput(self, "KafkaClusterArn", value=kafka.cluster_arn)
            CfnOutput(self, "KafkaBootstrapBrokers", value=kafka.bootstrap_brokers)
