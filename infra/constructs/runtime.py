"""The Lambda runtime every function shares: Python 3.13 on arm64, the two layers, JSON logs,
X-Ray, and one least-privilege role and log group per function.

With an OTLP endpoint (context `otlpEndpoint` + `adotLayerArn`, ADR 0107), every function also
gets the AWS Distro for OpenTelemetry layer, which instruments it at start-up and exports its
spans to the user's collector; Powertools' X-Ray SDK tracer is then off (one tracer patches the
AWS clients, not two). No Python dependency is added to the functions themselves."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import AssetHashType, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import layers
from infra.constructs.config import METRICS_NAMESPACE, StageConfig
from infra.constructs.nag import suppress
from infra.constructs.network import Network
from infra.layers import BUILD_DIR, ROOT
from meterplex.platform import env

OTEL_WRAPPER = "/opt/otel-instrument"  # the ADOT layer's exec wrapper
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
FUNCTIONS_DIR = ROOT / "functions"
ADMIN_CODE_DIR = Path(__file__).resolve().parent / "kafka_admin"
# Context flag for synthesizing before every function's code exists (tests of the infra alone).
PLACEHOLDER_CONTEXT = "placeholderCode"
_PLACEHOLDER_SOURCE = (
    "def lambda_handler(event, context):\n"
    "    raise RuntimeError('placeholder: functions/<name>/ was missing at synth time')\n"
)

VPC_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
]


class Runtime(Construct):
    """Layers plus a factory for functions that all look alike."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self._config = config
        self.shared_layer = lambda_.LayerVersion(
            self,
            "Shared",
            code=lambda_.Code.from_asset(str(layers.stage_shared_layer())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="the meterplex package (layers/meterplex)",
        )
        layers.build_deps_layer()
        self.deps_layer = lambda_.LayerVersion(
            self,
            "Deps",
            # The stamp is the hash of requirements/runtime.txt: no need to hash 30 MB each synth.
            code=lambda_.Code.from_asset(
                str(layers.DEPS_DIR),
                exclude=[".built", "python.building"],
                asset_hash=layers.deps_fingerprint(),
                asset_hash_type=AssetHashType.CUSTOM,
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="third-party runtime dependencies (requirements/runtime.txt)",
        )
        self.otel_layer = (
            lambda_.LayerVersion.from_layer_version_arn(self, "Adot", config.adot_layer_arn)
            if config.adot_layer_arn
            else None
        )

    def otel_environment(self, id: str) -> dict[str, str]:
        """What the ADOT layer reads, when OTLP export is on (else nothing)."""
        if not self._config.otlp_endpoint:
            return {}
        return {
            "AWS_LAMBDA_EXEC_WRAPPER": OTEL_WRAPPER,
            "OTEL_EXPORTER_OTLP_ENDPOINT": self._config.otlp_endpoint,
            "OTEL_SERVICE_NAME": f"meterplex-{id}",
            "OTEL_PROPAGATORS": "tracecontext,xray",  # continues the X-Ray header Lambda gives
            "POWERTOOLS_TRACE_DISABLED": "true",
        }

    def function(
        self,
        scope: Construct,
        id: str,
        *,
        code: lambda_.Code,
        handler: str,
        description: str,
        memory_mb: int,
        timeout: Duration,
        environment: dict[str, str],
        network: Network | None = None,
    ) -> lambda_.Function:
        """A function with its own role (logs to its own group only) and log group."""
        config = self._config
        log_group = logs.LogGroup(
            scope, f"{id}Logs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        role = iam.Role(
            scope,
            f"{id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.name(id)}: least privilege, from infra/topology.py",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        function = lambda_.Function(
            scope,
            id,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code,
            handler=handler,
            description=description,
            memory_size=memory_mb,
            timeout=timeout,
            role=role,
            log_group=log_group,
            layers=[self.shared_layer, self.deps_layer, *([self.otel_layer] if self.otel_layer else [])],
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={
                env.STAGE: config.stage,
                env.SERVICE_NAME: f"meterplex-{id}",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                **self.otel_environment(id),
                **environment,
            },
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.kafka_clients] if network else None,
        )
        if network:
            role.add_to_policy(iam.PolicyStatement(actions=VPC_ACTIONS, resources=["*"]))
        suppress(
            role,
            "IAM5",
            "X-Ray PutTraceSegments/PutTelemetryRecords and the EC2 network-interface actions of a VPC "
            "function (or of an MSK event source poller) do not support resource-level permissions",
            applies_to=["Resource::*"],
        )
        suppress(
            function,
            "L1",
            "Python 3.13 is the runtime the project targets (DESIGN.md); the dependency layer is built "
            "for cp313 wheels, so the runtime moves with requirements/runtime.txt, not with each release",
        )
        return function

    def code_of(self, name: str) -> lambda_.Code:
        """`functions/<name>/` as the function's code asset."""
        directory = FUNCTIONS_DIR / name
        if directory.is_dir():
            return lambda_.Code.from_asset(str(directory), exclude=["__pycache__", "*.pyc"])
        if Stack.of(self).node.try_get_context(PLACEHOLDER_CONTEXT):
            placeholder = BUILD_DIR / "placeholder"
            placeholder.mkdir(parents=True, exist_ok=True)
            (placeholder / "handler.py").write_text(_PLACEHOLDER_SOURCE)
            return lambda_.Code.from_asset(str(placeholder))
        raise FileNotFoundError(f"{directory} is missing: infra/topology.py declares function {name!r}")

    def admin_function(
        self,
        scope: Construct,
        id: str,
        *,
        description: str,
        bootstrap: str | None = None,
        network: Network | None = None,
    ) -> lambda_.Function:
        """A custom-resource function from infra/constructs/kafka_admin."""
        environment = {env.KAFKA_BOOTSTRAP: bootstrap, env.KAFKA_AUTH: "iam"} if bootstrap else {}
        return self.function(
            scope,
            id,
            code=lambda_.Code.from_asset(str(ADMIN_CODE_DIR), exclude=["__pycache__", "*.pyc"]),
            handler="handler.lambda_handler",
            description=description,
            memory_mb=256,
            timeout=Duration.minutes(2),
            environment=environment,
            network=network,
        )
