"""Fuzzing the running local cloud from its own OpenAPI document (schemathesis), as a tenant
OWNER, as the platform admin and as an API key: no answer may be a 5xx, and every answer must
match the document (status, envelope, model). See tests/e2e/fuzzing.py; `make fuzz` runs it long.

One test per operation of the document (the operations are listed at collection from the same
code the cloud serves, and checked equal to what `/api/openapi.json` serves). Each builds
schemathesis' own Hypothesis test for its operation — the phases `schemathesis run` has: the
document's examples, coverage (boundary values, wrong types, missing fields, other media types)
and fuzzing (valid and invalid inputs) — and runs it with the three identities' credentials.
(schemathesis' pytest plugin does not run under pytest 9: its node ids changed, so the tests are
built here with the builder that plugin uses.)
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.pytest.lazy import make_constants_value_source
from schemathesis.specs.openapi.checks import response_schema_conformance

from infra.local.cloud_process import output_of, serve
from infra.local.net import free_port
from meterplex.docs.openapi import openapi_document
from tests.e2e import fuzzing
from tests.e2e.conftest import wait_healthy

CHECKS = [not_a_server_error, response_schema_conformance]
OPERATIONS = sorted((path, method) for path, ops in openapi_document()["paths"].items() for method in ops)


@pytest.fixture(scope="module")
def fuzz_cloud() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile() as output:
        process = serve(port, output, **fuzzing.CLOUD_ENV)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(process, url, output_of(output))
        yield url
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def fuzz_identities(fuzz_cloud: str) -> list[fuzzing.Identity]:
    return fuzzing.identities(fuzz_cloud)


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_cloud: str) -> schemathesis.BaseSchema:
    config = SchemathesisConfig.from_dict(
        {
            "base-url": fuzz_cloud,
            "generation": {"with-security-parameters": False},  # the identities send credentials
            "phases": {name: {"enabled": name in fuzzing.phases()} for name in fuzzing.PHASES},
        }
    )
    served = requests.get(f"{fuzz_cloud}/api/openapi.json", timeout=fuzzing.TIMEOUT_S).json()
    assert sorted((p, m) for p, ops in served["paths"].items() for m in ops) == OPERATIONS
    fuzzing.REPORT.total_operations = len(OPERATIONS)
    return schemathesis.openapi.from_dict(served, config=config)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_no_server_error_and_every_answer_as_documented(
    path: str, method: str, fuzz_schema: schemathesis.BaseSchema, fuzz_identities: list[fuzzing.Identity]
) -> None:
    operation = fuzz_schema[path][method.upper()]
    label = f"{method.upper()} {path}"

    def fuzz(case: schemathesis.Case) -> None:
        for identity in fuzz_identities:
            response = case.call(headers=identity.headers(), timeout=fuzzing.TIMEOUT_S)
            stats = fuzzing.REPORT.record(label, identity.name, response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as failed:
                server, mismatches = fuzzing.classify(failed)
                stats.server_errors += server
                stats.schema_mismatches += mismatches
                fuzzing.REPORT.failures.append(f"{label} as {identity.name}: {response.status_code}")
                raise
            finally:
                if response.status_code == 401 and not identity.still_valid():
                    identity.login()  # the case revoked this identity's sessions

    test = build_operation_test(
        config=fuzz_schema.config,
        operation=operation,
        test_func=fuzz,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(fuzz_schema)),
        explicit_settings=settings(
            max_examples=fuzzing.examples(),
            deadline=None,
            derandomize=fuzzing.derandomize(),
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    test()
