"""Admin fixtures: the local Lambda Invoke API over the real functions (a dead letter's retry
invokes its consumer's function, as in AWS); the webhook queue and key (the audit walk writes
webhook endpoints)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.webhooks.conftest import webhook_aws  # noqa: F401 (a fixture, shared)
from tests.support.api_client import runner
from tests.support.lambda_api import lambda_api_serving


@pytest.fixture(scope="module")
def lambda_api(moto_endpoint: str) -> Iterator[str]:
    with lambda_api_serving(runner()) as url:
        yield url
