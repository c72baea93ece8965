"""The local Lambda Invoke API through botocore, as a function calling another sees it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from infra.local.functions import FunctionRunner
from infra.local.lambda_api import ENDPOINT_ENV, LambdaApiServer
from meterplex.testclock.invoker import CLIENT_CONFIG
from tests.integration.conftest import FIXTURE_FUNCTIONS
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Any, FunctionRunner, str]]:
    runner = FunctionRunner(FIXTURE_FUNCTIONS)
    server = LambdaApiServer(runner, wait_s=0.3)
    url = server.start()
    client = botocore.session.get_session().create_client(
        "lambda", region_name="us-east-1", endpoint_url=url, config=CLIENT_CONFIG
    )
    yield client, runner, url
    server.stop()


@pytest.fixture
def served(
    server: tuple[Any, FunctionRunner, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, FunctionRunner, ModuleType]:
    client, runner, url = server
    monkeypatch.setenv(ENDPOINT_ENV, url)  # what the local cloud sets for its functions
    recorder = runner.load("recorder")
    recorder.EVENTS.clear()
    recorder.CRASH_NEXT = 0
    return client, runner, recorder


def invoke(client: Any, name: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)  # type: ignore[no-any-return]


def test_request_response_returns_the_functions_result(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, _, recorder = served
    response = invoke(client, "recorder", {"hello": "world"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"batchItemFailures": []}
    assert recorder.EVENTS == [{"hello": "world"}]


@pytest.mark.parametrize(
    "name",
    [
        "meterplex-local-recorder",
        "arn:aws:lambda:us-east-1:000000000000:function:meterplex-local-recorder",
        "arn:aws:lambda:us-east-1:000000000000:function:recorder:$LATEST",
    ],
)
def test_function_names_arns_and_qualifiers_resolve(
    served: tuple[Any, FunctionRunner, ModuleType], name: str
) -> None:
    client, _, recorder = served
    assert invoke(client, name, {"n": 1})["StatusCode"] == 200
    assert recorder.EVENTS == [{"n": 1}]


def test_a_raising_function_is_a_function_error_not_an_api_error(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, _, recorder = served
    recorder.CRASH_NEXT = 1
    response = invoke(client, "recorder", {})
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "RuntimeError"
    assert payload["errorMessage"] == "crash requested by the test"
    assert payload["stackTrace"]


def test_an_unknown_function_is_resource_not_found(served: tuple[Any, FunctionRunner, ModuleType]) -> None:
    client, _, _ = served
    with pytest.raises(ClientError) as error:
        invoke(client, "no_such_function", {})
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_function_busy_past_the_wait_is_too_many_requests(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, runner, _ = served
    slot = runner.reserve("recorder")  # another invocation holds its one environment
    try:
        with pytest.raises(ClientError) as error:
            invoke(client, "recorder", {})
    finally:
        runner.release("recorder", slot)
    assert error.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_a_function_invoking_itself_gets_429_instead_of_deadlocking(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, _, _ = served
    response = invoke(client, "self_invoker", {})
    assert json.loads(response["Payload"].read()) == {"error": "TooManyRequestsException"}


def test_event_invocations_run_in_the_background_and_dry_runs_do_nothing(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, _, recorder = served
    assert invoke(client, "recorder", {"dry": 1}, InvocationType="DryRun")["StatusCode"] == 204
    assert invoke(client, "recorder", {"async": 1}, InvocationType="Event")["StatusCode"] == 202
    wait_for(lambda: recorder.EVENTS == [{"async": 1}])


def test_a_body_that_is_not_json_is_rejected(served: tuple[Any, FunctionRunner, ModuleType]) -> None:
    client, _, _ = served
    with pytest.raises(ClientError) as error:
        client.invoke(FunctionName="recorder", Payload=b"{not json")
    assert error.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_concurrent_invocations_of_one_function_run_one_at_a_time(
    served: tuple[Any, FunctionRunner, ModuleType],
) -> None:
    client, runner, recorder = served
    # GIVEN the function's environment is busy for a moment
    slot = runner.reserve("recorder")
    results: list[int] = []
    thread = threading.Thread(
        target=lambda: results.append(invoke(client, "recorder", {"queued": 1})["StatusCode"])
    )
    thread.start()
    # WHEN it frees up within the wait THEN the queued invocation runs
    threading.Timer(0.05, runner.release, args=("recorder", slot)).start()
    thread.join(5)
    assert results == [200] and recorder.EVENTS == [{"queued": 1}]
