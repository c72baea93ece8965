"""The local Lambda Invoke API over a function runner, with AWS_ENDPOINT_URL_LAMBDA pointing at it
(what `LambdaInvoker` calls: the test clock's schedules, dead-letter retries)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from infra.local.functions import FunctionRunner
from infra.local.lambda_api import ENDPOINT_ENV, LambdaApiServer


@contextmanager
def lambda_api_serving(runner: FunctionRunner) -> Iterator[str]:
    from meterplex.testclock.invoker import lambda_client

    server = LambdaApiServer(runner)
    url = server.start()
    saved = os.environ.get(ENDPOINT_ENV)
    os.environ[ENDPOINT_ENV] = url
    lambda_client.cache_clear()
    try:
        yield url
    finally:
        server.stop()
        lambda_client.cache_clear()
        if saved is None:
            os.environ.pop(ENDPOINT_ENV, None)
        else:
            os.environ[ENDPOINT_ENV] = saved
