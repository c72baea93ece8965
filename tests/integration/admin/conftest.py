"""Admin fixtures: the local Lambda Invoke API over the real functions (a dead letter's retry
invokes its consumer's function, as in AWS)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.local.lambda_api import ENDPOINT_ENV, LambdaApiServer
from tests.support.api_client import runner


@pytest.fixture(scope="module")
def lambda_api(moto_endpoint: str) -> Iterator[str]:
    from meterplex.testclock.invoker import lambda_client

    server = LambdaApiServer(runner())
    url = server.start()
    saved = os.environ.get(ENDPOINT_ENV)
    os.environ[ENDPOINT_ENV] = url
    lambda_client.cache_clear()
    yield url
    server.stop()
    lambda_client.cache_clear()
    if saved is None:
        os.environ.pop(ENDPOINT_ENV, None)
    else:
        os.environ[ENDPOINT_ENV] = saved
