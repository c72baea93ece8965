"""What the in-process benchmarks share: their environment and a moto server with the topology's tables."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def moto_with_tables(environment: Mapping[str, str]) -> Iterator[str]:
    """Apply `environment` (values already set win), start moto on a free port with every table of
    the topology, point the process's AWS clients at it; yields the endpoint."""
    for name, value in environment.items():
        os.environ.setdefault(name, value)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's per-request access log
    from infra import topology
    from infra.local.aws import MotoServer, aws_environment, create_tables

    server = MotoServer(port=0)
    endpoint = server.start()
    try:
        os.environ.update(aws_environment(endpoint))
        create_tables(topology.TABLES, {t.name: os.environ[t.env_var] for t in topology.TABLES}, endpoint)
        yield endpoint
    finally:
        server.stop()
