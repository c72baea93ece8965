"""Following one usage event end to end on the local cloud (issue 15): its correlation id is in the
logs of usage_api, outbox_relay and usage_aggregator, `trace <id>` prints that path with timings,
and `GET /local/metrics` shows the functions' EMF metrics as Prometheus text."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from infra.local.replies import ok
from tests.e2e.http_setup import eventually, metered_tenant
from tests.support.local_cli import clean_environment, run_local

PATH = ("usage_api", "outbox_relay", "usage_aggregator")


def logged_under(logs: Path, function: str, correlation_id: str) -> list[dict[str, Any]]:
    path = logs / f"{function}.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]
    return [line for line in lines if line.get("correlation_id") == correlation_id]


def test_one_usage_event_is_followed_from_request_to_counter(
    local_cloud_url: str, local_cloud_logs: Path
) -> None:
    url = f"{local_cloud_url}/api/v1"
    # GIVEN a tenant with a METERED feature and its API key
    tenant = metered_tenant(url, "trace", monthly=100, included=100, overage=5)
    correlation_id = f"e2e-trace-{uuid.uuid4().hex[:12]}"
    event = {
        "eventId": f"traced-{uuid.uuid4().hex[:8]}",
        "feature": tenant.feature,
        "amount": 3,
        "timestamp": datetime.now(UTC).isoformat(),
    }

    # WHEN one usage event is sent with an x-correlation-id, and counted
    sent = requests.post(
        f"{url}/usage/events",
        json={"events": [event]},
        headers=tenant.api_key | {"x-correlation-id": correlation_id},
        timeout=10,
    )
    assert sent.status_code == 202 and sent.json()["accepted"] == 1, sent.text
    assert sent.headers["x-correlation-id"] == correlation_id

    def check() -> Any:
        check_url = f"{url}/entitlements/{tenant.feature}/check"
        return ok(requests.get(check_url, headers=tenant.api_key, timeout=10))

    assert eventually(check, lambda answer: answer["used"] == 3)["used"] == 3

    # THEN each function of the path logged under that correlation id (the aggregator: counted)
    found = eventually(
        lambda: {f: logged_under(local_cloud_logs, f, correlation_id) for f in PATH},
        lambda lines: all(lines.values()),
    )
    assert all(found.values()), {f: len(lines) for f, lines in found.items()}
    assert any(line["message"] == "request handled" for line in found["usage_api"])
    relayed = [line for line in found["outbox_relay"] if line["message"] == "outbox messages relayed"]
    assert [(line["event_ids"], line["messages"]) for line in relayed] == [([event["eventId"]], 1)]
    applied = [line for line in found["usage_aggregator"] if line["message"] == "usage events applied"]
    assert [(line["event_ids"], line["outcome"]) for line in applied] == [([event["eventId"]], "counted")]

    # AND `trace <id>` prints the three functions in order, with the time from the first line
    traced = run_local(
        "trace", correlation_id, "--logs", str(local_cloud_logs), env=clean_environment(), timeout=60
    )
    assert traced.returncode == 0, traced.stderr
    rows = [row for row in traced.stdout.splitlines() if re.match(r"\s+\+\d+ ms", row)]
    functions_in_order = list(dict.fromkeys(row.split()[3] for row in rows))
    assert functions_in_order == list(PATH), traced.stdout
    offsets = [int(row.split()[0].lstrip("+")) for row in rows]
    assert offsets[0] == 0 and offsets == sorted(offsets), traced.stdout
    for function in PATH:
        assert re.search(rf"^\s+{function}\s+\+\d+ ms → \+\d+ ms", traced.stdout, re.MULTILINE), traced.stdout

    # AND `GET /local/metrics` counts the accepted event for usage_api, in Prometheus text
    metrics = requests.get(f"{local_cloud_url}/local/metrics", timeout=10)
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    accepted = re.search(
        r'^meterplex_usage_events_accepted_total\{function="usage_api"\} (\d+)$', metrics.text, re.MULTILINE
    )
    assert accepted is not None and int(accepted.group(1)) >= 1, metrics.text
    assert "# TYPE meterplex_usage_events_accepted_total counter" in metrics.text
    assert "tenant" not in metrics.text.lower()


def test_trace_of_an_unknown_correlation_id_says_so(local_cloud_logs: Path) -> None:
    traced = run_local(
        "trace", "never-sent-anywhere", "--logs", str(local_cloud_logs), env=clean_environment(), timeout=60
    )
    assert traced.returncode == 1
    assert "no log line with correlation id never-sent-anywhere" in traced.stdout
