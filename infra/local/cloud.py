"""LocalCloud: the whole platform on one laptop, composed from the topology.

moto (DynamoDB) → tables → Tansu (Kafka) → topics → handler environment → Lambda Invoke API →
bootstrap hooks → stream and Kafka pollers → scheduler → gateway. `stop()` tears it down in reverse.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from infra.local.api_events import HttpResponse
from infra.local.aws import PORT_ENV as MOTO_PORT_ENV
from infra.local.aws import MotoServer, aws_environment, create_tables, physical_table_name
from infra.local.dead_letters import DeadLetters
from infra.local.functions import FUNCTIONS_DIR, REPO_ROOT, FunctionRunner
from infra.local.gateway import Gateway, GatewayServer
from infra.local.kafka_broker import PORT_ENV as KAFKA_PORT_ENV
from infra.local.kafka_broker import TansuBroker
from infra.local.kafka_poller import KafkaPoller
from infra.local.lambda_api import ENDPOINT_ENV, LambdaApiServer
from infra.local.net import ensure_free
from infra.local.prometheus import CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE
from infra.local.queues import QueuePoller, provision
from infra.local.scheduler import Scheduler, local_schedule_arn
from infra.local.stream_poller import StreamPoller
from infra.local.telemetry import TelemetrySink, logs_directory
from meterplex.platform import env
from meterplex.platform.clock import business_clock
from meterplex.testclock.targets import ScheduledTarget, dump_targets

log = logging.getLogger("localcloud")

DEFAULT_STAGE = "local"
DEFAULT_ADMIN_EMAIL = "admin@meterplex.local"
DEFAULT_ADMIN_PASSWORD = "Admin12345!"  # local-only default, documented in docs/local-cloud.md
STATE_DIR = REPO_ROOT / ".local"
METRICS_PATH = "/local/metrics"  # the local cloud's own route, not the API's (docs/local-cloud.md)


def _default_topology() -> Any:
    from infra import topology

    return topology


def handler_environment(stage: str) -> dict[str, str]:
    """What the CDK would set on every function, with local values (user overrides kept)."""
    defaults = {
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Meterplex",
        "POWERTOOLS_SERVICE_NAME": "meterplex",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        env.EXPOSE_RESET_TOKEN: "true",
        env.KAFKA_AUTH: "plaintext",
    }
    values = {k: os.environ.get(k, v) for k, v in defaults.items()}
    values[env.STAGE] = stage
    # A fresh signing key per run unless the developer pins one: never a secret in code.
    values[env.JWT_SECRET] = os.environ.get(env.JWT_SECRET) or secrets.token_urlsafe(48)
    return values


def schedule_targets(schedules: Any, stage: str) -> list[ScheduledTarget]:
    """What `admin_api`'s advance runs (`MP_SCHEDULES`): locally, targets are plain function names."""
    return [
        ScheduledTarget(
            name=s.name,
            function=s.function,
            expression=s.expression,
            arn=local_schedule_arn(s.name, stage),
            completion=getattr(s, "completion", ""),
            next_work=getattr(s, "next_work", ""),
        )
        for s in schedules
    ]


def scheduler_business_time() -> datetime | None:
    """Business now for the local scheduler, or None while the test clock is frozen or advancing."""
    real = datetime.now(UTC)
    if not business_clock.enabled:
        return real
    from meterplex.platform.clock_store import ClockStore

    return ClockStore().read_record().running_time(real)


class LocalCloud:
    def __init__(
        self,
        topology: Any = None,
        functions_dir: Path = FUNCTIONS_DIR,
        *,
        port: int = 3000,
        stage: str = DEFAULT_STAGE,
        with_kafka: bool = True,
        with_gateway: bool = True,
        with_pollers: bool = True,
        run_hooks: bool = True,
        moto_port: int | None = None,
        kafka_port: int | None = None,
        state_dir: Path = STATE_DIR,
    ) -> None:
        self.topology = topology if topology is not None else _default_topology()
        self.functions = FunctionRunner(functions_dir, self.topology)
        self.port = port
        self.stage = stage
        self.with_kafka = with_kafka
        self.with_gateway = with_gateway
        self.with_pollers = with_pollers
        self.run_hooks = run_hooks
        self.moto = MotoServer(moto_port)
        self.kafka = TansuBroker(kafka_port) if with_kafka else None
        self.dead_letters = DeadLetters(Path(state_dir) / "dlq")
        self.telemetry = TelemetrySink(logs_directory(state_dir))
        self.table_names = {t.name: physical_table_name(stage, t) for t in self.topology.TABLES}
        self.gateway: GatewayServer | None = None
        self.scheduler: Scheduler | None = None
        self.lambda_api: LambdaApiServer | None = None
        self._stoppers: list[Any] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def requested_ports(self) -> list[tuple[int, str]]:
        """(port, the variable that sets it) for each fixed port this cloud will listen on."""
        wanted = [(self.port if self.with_gateway else 0, "PORT"), (self.moto.requested_port, MOTO_PORT_ENV)]
        if self.kafka is not None:
            wanted.append((self.kafka.requested_port, KAFKA_PORT_ENV))
        return [(port, variable) for port, variable in wanted if port]

    def _start(self) -> None:
        for port, variable in self.requested_ports():
            ensure_free(port, variable)  # every taken port is reported before anything starts
        self.functions.telemetry = self.telemetry.start()  # each function's logs and metrics
        self._stoppers.append(self.telemetry)
        endpoint = self.moto.start()
        self._stoppers.append(self.moto)
        os.environ.update(aws_environment(endpoint))
        create_tables(self.topology.TABLES, self.table_names, endpoint)
        for table in self.topology.TABLES:
            os.environ[table.env_var] = self.table_names[table.name]
        os.environ.update(provision(self.topology, self.stage, endpoint))  # SQS queues, KMS keys
        if self.kafka is not None:
            bootstrap = self.kafka.start(self.topology.TOPICS)
            self._stoppers.append(self.kafka)
            os.environ[env.KAFKA_BOOTSTRAP] = bootstrap
        os.environ.update(handler_environment(self.stage))
        self.lambda_api = LambdaApiServer(self.functions)
        os.environ[ENDPOINT_ENV] = self.lambda_api.start()
        self._stoppers.append(self.lambda_api)
        os.environ[env.SCHEDULES] = dump_targets(schedule_targets(self.topology.SCHEDULES, self.stage))
        if self.run_hooks:
            run_bootstrap_hooks()
        if self.with_pollers:
            self._start_pollers(endpoint)
        if self.with_gateway:
            gateway = Gateway(
                self.topology.ROUTES,
                self.functions.invoke,
                fallback_function=self.topology.FALLBACK_FUNCTION,
                local_routes={METRICS_PATH: self.metrics_response},
            )
            self.gateway = GatewayServer(gateway, self.port)
            self.gateway.start()
            self._stoppers.append(self.gateway)

    def _start_pollers(self, endpoint: str) -> None:
        for trigger in self.topology.STREAM_TRIGGERS:
            poller = StreamPoller(
                trigger,
                self.table_names[trigger.table],
                self.functions.invoke,
                self.dead_letters,
                endpoint=endpoint,
            )
            poller.start()
            self._stoppers.append(poller)
        if self.kafka is not None:
            for kafka_trigger in self.topology.KAFKA_TRIGGERS:
                kafka_poller = KafkaPoller(
                    kafka_trigger, self.kafka.bootstrap, self.functions.invoke, self.dead_letters
                )
                kafka_poller.start()
                self._stoppers.append(kafka_poller)
        for queue_trigger in getattr(self.topology, "QUEUE_TRIGGERS", ()):
            queue = self.topology.queue(queue_trigger.queue)
            queue_poller = QueuePoller(
                queue_trigger, os.environ[queue.env_var], self.functions.invoke, endpoint=endpoint
            )
            queue_poller.start()
            self._stoppers.append(queue_poller)
        self.scheduler = Scheduler(
            self.topology.SCHEDULES,
            self.functions.invoke,
            business_time=scheduler_business_time,
            stage=self.stage,
        )
        self.scheduler.start()
        self._stoppers.append(self.scheduler)

    def stop(self) -> None:
        """Stop everything that started, newest first (gateway, scheduler, pollers, Lambda API, Tansu,
        moto)."""
        while self._stoppers:
            component = self._stoppers.pop()
            started = time.perf_counter()
            try:
                component.stop()
            except Exception:
                log.exception("stopping %s failed", type(component).__name__)
            log.debug("%s stopped in %.2fs", type(component).__name__, time.perf_counter() - started)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- endpoints -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.gateway.url if self.gateway else ""

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self.functions.invoke(function, event)

    def metrics_response(self) -> HttpResponse:
        """`GET /local/metrics`: every function's EMF metrics so far, as Prometheus text."""
        body = self.telemetry.registry.render().encode("utf-8")
        return HttpResponse(200, [("Content-Type", PROMETHEUS_CONTENT_TYPE)], body)


def _optional(module: str, attribute: str) -> Any:
    """`module.attribute` if that module exists (other engineers add the hooks), else None."""
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is not None and module.startswith(error.name):
            return None
        raise
    return getattr(loaded, attribute, None)


def run_bootstrap_hooks() -> None:
    ensure_admin = _optional("meterplex.identity.bootstrap", "ensure_platform_admin")
    if ensure_admin is None:
        log.info("no meterplex.identity.bootstrap.ensure_platform_admin yet; platform admin not created")
    else:
        from meterplex.identity.bootstrap import PromotionRefused, promote_existing_from_env, report

        email = os.environ.get("MP_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL)
        password = os.environ.get("MP_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
        try:
            ensured = ensure_admin(email, password, promote_existing=promote_existing_from_env())
            log.info("%s", report(email, ensured))
        except PromotionRefused as refused:
            log.error("platform admin not ensured: %s", refused.message)
    if os.environ.get("MP_SEED_DEMO", "true").lower() == "false":
        return
    seed_demo = _optional("meterplex.demo.seed", "seed_demo")
    if seed_demo is None:
        log.info("no meterplex.demo.seed.seed_demo yet; no demo data")
    else:
        seed_demo()
        log.info("demo data seeded")
