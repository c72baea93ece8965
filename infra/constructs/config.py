"""What every construct needs to know: the stage's settings and the topology it is built from."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs

from infra import topology as topo
from meterplex.platform.settings import PROD_STAGE, AuthorizerCacheSettings

STAGES = ("dev", PROD_STAGE)
KAFKA_MODES = ("serverless", "provisioned")
PAYMENT_PROVIDERS = ("fake", "stripe")  # meterplex.platform.settings.PaymentSettings
SERVICE = "meterplex"
METRICS_NAMESPACE = "Meterplex"
AUTHORIZER_CACHE_TTL_DEFAULT_S: int = AuthorizerCacheSettings.model_fields["authorizer_cache_ttl_s"].default


@dataclass(frozen=True)
class StageConfig:
    """Per-stage knobs, from CDK context (`-c stage=prod -c kafka=provisioned -c testClock=false`)."""

    stage: str = "dev"
    kafka_mode: str = "serverless"
    alarm_email: str | None = None
    # the authorizer result cache: the revocation lag of reads (ADR 0031); context authorizerCacheTtl
    authorizer_cache_ttl_s: int = AUTHORIZER_CACHE_TTL_DEFAULT_S
    test_clock: bool | None = None  # None: on in every stage but prod (SPEC §8.1, ADR 0050)
    # the payment adapter (ADR 0060): context paymentProvider; None: stripe in prod, fake elsewhere
    payment_provider: str | None = None
    # OpenTelemetry export (ADR 0107): context otlpEndpoint (the user's collector) + adotLayerArn
    otlp_endpoint: str | None = None
    adot_layer_arn: str | None = None

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"context 'stage' must be one of {STAGES}, got {self.stage!r}")
        if self.kafka_mode not in KAFKA_MODES:
            raise ValueError(f"context 'kafka' must be one of {KAFKA_MODES}, got {self.kafka_mode!r}")
        # validated by the same setting the local gateway reads (0–3600 s)
        AuthorizerCacheSettings(authorizer_cache_ttl_s=self.authorizer_cache_ttl_s)
        if self.payments_provider not in PAYMENT_PROVIDERS:
            raise ValueError(f"context 'paymentProvider' must be one of {PAYMENT_PROVIDERS}")
        if self.is_prod and self.payments_provider == "fake":
            raise ValueError(
                "context 'paymentProvider' cannot be fake for the prod stage: it collects no money"
            )
        if self.otlp_endpoint and not self.otlp_endpoint.startswith(("http://", "https://")):
            raise ValueError("context 'otlpEndpoint' must be the collector's http(s):// URL")
        if bool(self.otlp_endpoint) != bool(self.adot_layer_arn):
            raise ValueError(
                "contexts 'otlpEndpoint' and 'adotLayerArn' go together: the collector to export to and "
                "the AWS Distro for OpenTelemetry Python layer (arm64) of the region that exports"
            )
        if self.is_prod and self.test_clock:
            raise ValueError(
                "context 'testClock' cannot be true for the prod stage: the test clock moves business "
                "time (periods, invoices) and must never run in production"
            )

    @property
    def is_prod(self) -> bool:
        return self.stage == PROD_STAGE

    @property
    def payments_provider(self) -> str:
        return self.payment_provider or ("stripe" if self.is_prod else "fake")

    @property
    def test_clock_enabled(self) -> bool:
        return (not self.is_prod) if self.test_clock is None else self.test_clock

    @property
    def removal_policy(self) -> RemovalPolicy:
        # Data outlives a prod stack; a dev stack tears down cleanly.
        return RemovalPolicy.RETAIN if self.is_prod else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.THREE_MONTHS if self.is_prod else logs.RetentionDays.TWO_WEEKS

    @property
    def api_rate_limit(self) -> int:
        return 500 if self.is_prod else 50

    @property
    def api_burst_limit(self) -> int:
        return 1000 if self.is_prod else 100

    @property
    def alarm_period(self) -> Duration:
        return Duration.minutes(5)

    def name(self, *parts: str) -> str:
        """A physical name: `meterplex-<stage>-<parts>`."""
        return "-".join((SERVICE, self.stage, *parts))


@dataclass(frozen=True)
class Topology:
    """The parts of `infra/topology.py` the CDK reads; tests may build one with extra entries."""

    tables: tuple[topo.Table, ...]
    functions: tuple[topo.Function, ...]
    routes: tuple[topo.Route, ...]
    topics: tuple[topo.Topic, ...]
    stream_triggers: tuple[topo.StreamTrigger, ...]
    kafka_triggers: tuple[topo.KafkaTrigger, ...]
    schedules: tuple[topo.Schedule, ...]
    fallback_function: str
    authorizer_function: str = "authorizer"
    queues: tuple[topo.Queue, ...] = ()
    keys: tuple[topo.Key, ...] = ()
    queue_triggers: tuple[topo.QueueTrigger, ...] = ()

    @classmethod
    def from_module(cls, module: ModuleType = topo) -> Topology:
        return cls(
            tables=tuple(module.TABLES),
            functions=tuple(module.FUNCTIONS),
            routes=tuple(module.ROUTES),
            topics=tuple(module.TOPICS),
            stream_triggers=tuple(module.STREAM_TRIGGERS),
            kafka_triggers=tuple(module.KAFKA_TRIGGERS),
            schedules=tuple(module.SCHEDULES),
            fallback_function=module.FALLBACK_FUNCTION,
            queues=tuple(getattr(module, "QUEUES", ())),
            keys=tuple(getattr(module, "KEYS", ())),
            queue_triggers=tuple(getattr(module, "QUEUE_TRIGGERS", ())),
        )

    def table(self, name: str) -> topo.Table:
        return next(t for t in self.tables if t.name == name)

    def queue(self, name: str) -> topo.Queue:
        return next(q for q in self.queues if q.name == name)

    def key(self, name: str) -> topo.Key:
        return next(k for k in self.keys if k.name == name)

    def consumes(self, function: str) -> tuple[str, ...]:
        """Kafka topics whose event source mapping invokes `function`."""
        return tuple(t.topic for t in self.kafka_triggers if t.function == function)

    def stream_tables(self, function: str) -> tuple[str, ...]:
        return tuple(t.table for t in self.stream_triggers if t.function == function)

    @property
    def consumers(self) -> tuple[str, ...]:
        """Every function a trigger invokes: the consumers whose dead letters an admin retries."""
        names = {t.function for t in self.stream_triggers} | {t.function for t in self.kafka_triggers}
        return tuple(sorted(names))

    def connects_to_kafka(self, fn: topo.Function) -> bool:
        """Opens its own Kafka connection, so runs in the VPC beside the cluster (the dead-letter
        intake re-reads failed Kafka records by offset: ADR 0094)."""
        return bool(fn.produces) or fn.kafka_describe or (fn.takes_dead_letters and bool(self.kafka_triggers))

    @property
    def uses_kafka(self) -> bool:
        return bool(self.topics or self.kafka_triggers) or any(
            self.connects_to_kafka(f) for f in self.functions
        )
