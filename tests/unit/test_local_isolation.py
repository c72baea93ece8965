"""Two HTTP functions handling requests at the same time in one local-cloud process each see only
their own request, as two Lambda execution environments would (infra/local/isolation.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from infra.local.functions import FunctionBusy, FunctionRunner

HANDLER = """
import threading
from aws_lambda_powertools.event_handler.api_gateway import Router
from meterplex.platform.api import create_app

router = Router()
ENTERED = threading.Event()
RELEASE = threading.Event()


@router.get("/api/v1/{name}")
def who() -> dict:
    ENTERED.set()
    RELEASE.wait(5)  # another function handles its request meanwhile
    return {{"path": router.current_event.path, "request": router.current_event.request_context.request_id}}


app = create_app(router)


def lambda_handler(event, context):
    return app.resolve(event, context)
"""


def _event(name: str) -> dict:
    path = f"/api/v1/{name}"
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "requestContext": {"requestId": f"request-{name}", "identity": {"sourceIp": "10.0.0.1"}},
        "body": None,
        "isBase64Encoded": False,
    }


def test_concurrent_functions_in_one_process_read_only_their_own_request(tmp_path: Path) -> None:
    # GIVEN two HTTP functions built with the house resolver, in one runner (one process)
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "handler.py").write_text(HANDLER.format(name=name))
    runner = FunctionRunner(tmp_path)
    alpha = runner.load("alpha")
    results: dict[str, dict] = {}

    def call(name: str) -> None:
        results[name] = json.loads(runner.invoke(name, _event(name))["body"])

    # WHEN alpha is mid-request while beta handles a whole request of its own
    first = threading.Thread(target=call, args=("alpha",))
    first.start()
    assert alpha.ENTERED.wait(5)
    runner.load("beta").RELEASE.set()
    call("beta")
    alpha.RELEASE.set()
    first.join(5)

    # THEN each answered from its own event
    assert results["alpha"] == {"path": "/api/v1/alpha", "request": "request-alpha"}
    assert results["beta"] == {"path": "/api/v1/beta", "request": "request-beta"}


SHARED_ROUTES = """
import threading
from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()
ENTERED = threading.Semaphore(0)
RELEASE = threading.Event()


@router.get("/api/v1/<name>")
def who(name: str) -> dict:
    ENTERED.release()
    RELEASE.wait(5)  # the other environment handles its request meanwhile
    return {"path": router.current_event.path, "request": router.current_event.request_context.request_id}
"""

SHARED_HANDLER = """
from meterplex.platform.api import create_app
from shared_routes_{tag} import router

app = create_app(router)


def lambda_handler(event, context):
    return app.resolve(event, context)
"""


def test_two_environments_of_one_function_run_at_once_each_with_its_own_request(
    tmp_path: Path, monkeypatch: Any
) -> None:
    # GIVEN a function allowed two environments, whose routes live in a module both share (as the
    # layer's routers are shared), and a function left at one environment
    tag = tmp_path.name.replace("-", "_")
    (tmp_path / f"shared_routes_{tag}.py").write_text(SHARED_ROUTES)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("ingest", "single"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "handler.py").write_text(SHARED_HANDLER.format(tag=tag))
    runner = FunctionRunner(tmp_path, concurrency={"ingest": 2})
    shared = __import__(f"shared_routes_{tag}")
    results: dict[str, dict] = {}

    def call(function: str, name: str) -> None:
        results[name] = json.loads(runner.invoke(function, _event(name))["body"])

    # WHEN two requests reach the function at once
    threads = [threading.Thread(target=call, args=("ingest", n)) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    # THEN both are inside it together (two environments), each answering from its own event
    assert shared.ENTERED.acquire(timeout=5) and shared.ENTERED.acquire(timeout=5)
    with pytest.raises(FunctionBusy):  # a third finds both busy
        runner.invoke("ingest", _event("three"), wait_s=0.05)
    shared.RELEASE.set()
    for thread in threads:
        thread.join(5)
    assert results["one"] == {"path": "/api/v1/one", "request": "request-one"}
    assert results["two"] == {"path": "/api/v1/two", "request": "request-two"}
    assert runner.load("ingest") is not runner._environment("ingest", 1)  # two imports of the handler
    # AND a function without more environments still handles one event at a time
    slot = runner.reserve("single")
    with pytest.raises(FunctionBusy):
        runner.invoke("single", _event("four"), wait_s=0.05)
    runner.release("single", slot)
