"""Two HTTP functions handling requests at the same time in one local-cloud process each see only
their own request, as two Lambda execution environments would (infra/local/isolation.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from infra.local.functions import FunctionRunner

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
