"""Session fixtures for integration tests: moto server with the topology's tables, and Tansu.

* `moto_endpoint`: moto on a free port; AWS_ENDPOINT_URL, fake credentials and region point every
  boto3/PynamoDB client of the process at it; every table of `infra.topology.TABLES` exists under
  the name tests/conftest.py's TEST_ENV gives it (MP_CORE_TABLE, MP_USAGE_TABLE, ...).
* `clean_tables`: empties those tables before a test (or give each test its own ids instead).
* `kafka_bootstrap`: Tansu on a free port with the topology's topics; MP_KAFKA_BOOTSTRAP is set.

Settings are cached per process (`settings.load`): use these fixtures before the first handler
import in a test session, or clear `settings.load.cache_clear()` after changing the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from infra import topology
from infra.local.aws import REGION, MotoServer, aws_environment, create_tables
from infra.local.functions import FunctionRunner
from infra.local.kafka_broker import TansuBroker

FIXTURE_FUNCTIONS = Path(__file__).parent / "fixtures_functions"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = MotoServer(port=0)
    endpoint = server.start()
    saved = {k: os.environ.get(k) for k in aws_environment(endpoint)}
    os.environ.update(aws_environment(endpoint))
    create_tables(topology.TABLES, {t.name: os.environ[t.env_var] for t in topology.TABLES}, endpoint)
    yield endpoint
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _empty_table(client: object, name: str, key_names: tuple[str, str]) -> None:
    paginator = client.get_paginator("scan")  # type: ignore[attr-defined]
    for page in paginator.paginate(
        TableName=name,
        ProjectionExpression="#p, #s",
        ExpressionAttributeNames={"#p": key_names[0], "#s": key_names[1]},
    ):
        for item in page.get("Items", []):
            client.delete_item(TableName=name, Key=item)  # type: ignore[attr-defined]


@pytest.fixture
def clean_tables(moto_endpoint: str) -> Callable[[], None]:
    """Empty every topology table now; call the returned function to empty them again mid-test."""
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint)

    def clean() -> None:
        for table in topology.TABLES:
            _empty_table(client, os.environ[table.env_var], (table.partition_key, table.sort_key))

    clean()
    return clean


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    broker = TansuBroker(port=0)
    bootstrap = broker.start(topology.TOPICS)
    saved = os.environ.get("MP_KAFKA_BOOTSTRAP")
    os.environ["MP_KAFKA_BOOTSTRAP"] = bootstrap
    yield bootstrap
    broker.stop()
    if saved is not None:
        os.environ["MP_KAFKA_BOOTSTRAP"] = saved


@pytest.fixture
def recorder() -> Iterator[tuple[FunctionRunner, ModuleType]]:
    """The `recorder` test function (tests/integration/fixtures_functions), reset."""
    runner = FunctionRunner(FIXTURE_FUNCTIONS)
    module = runner.load("recorder")
    module.EVENTS.clear()
    module.FAIL_ONCE.clear()
    module.FAIL_ALWAYS.clear()
    module.CRASH_NEXT = 0
    yield runner, module
