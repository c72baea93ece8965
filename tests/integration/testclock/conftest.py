"""Test-clock fixtures: a clean CLOCK item, and the Lambda Invoke API serving the test functions
(`clock_probe`, `recorder`, `self_invoker`) that test schedules target."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import botocore.session
import pytest

from infra.local.functions import FunctionRunner
from meterplex.platform.clock_store import CLOCK_KEY, ClockStore
from meterplex.testclock.invoker import CLIENT_CONFIG
from tests.integration.conftest import FIXTURE_FUNCTIONS
from tests.integration.testclock import completions
from tests.support.lambda_api import lambda_api_serving


def delete_clock(store: ClockStore) -> None:
    store.client.delete_item(TableName=store.table, Key=CLOCK_KEY)


@pytest.fixture
def clock_store(moto_endpoint: str) -> Iterator[ClockStore]:
    """The CLOCK item absent (real time) before and after the test."""
    store = ClockStore()
    delete_clock(store)
    yield store
    delete_clock(store)


@pytest.fixture(scope="session")
def fixture_lambda(moto_endpoint: str) -> Iterator[tuple[str, FunctionRunner]]:
    """The local Lambda Invoke API over the test functions; AWS_ENDPOINT_URL_LAMBDA points at it."""
    runner = FunctionRunner(FIXTURE_FUNCTIONS)
    with lambda_api_serving(runner) as url:
        yield url, runner


@pytest.fixture
def probe(fixture_lambda: tuple[str, FunctionRunner]) -> Iterator[ModuleType]:
    """The `clock_probe` function's module (as the Lambda API runs it), reset."""
    module = fixture_lambda[1].load("clock_probe")
    module.CALLS.clear()
    module.FAIL_AT.clear()
    module.HOLD = None
    completions.POLLS.clear()
    yield module
    if module.HOLD is not None:
        module.HOLD.set()
    module.HOLD = None


def lambda_client_for(url: str) -> Any:
    return botocore.session.get_session().create_client("lambda", endpoint_url=url, config=CLIENT_CONFIG)
