"""The `meterplex` CLI against respx: login and its 0600 profile, `--output json`, and
`usage send` (JSON Lines and CSV, counts, invalid lines, resume after an interruption)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE, envelope
from typer.testing import CliRunner

from meterplex_client import RetryPolicy
from meterplex_client.cli import app as cli

EVENTS = f"{BASE}/api/v1/usage/events"
USER = {
    "id": "u1",
    "email": "ada@example.com",
    "firstName": "Ada",
    "lastName": "L",
    "isActive": True,
    "isPlatformAdmin": False,
    "createdAt": "2026-01-01T00:00:00Z",
    "updatedAt": "2026-01-01T00:00:00Z",
}
TENANT = {
    "id": "t1",
    "name": "Acme",
    "slug": "acme",
    "status": "ACTIVE",
    "metadata": {},
    "role": "OWNER",
    "createdAt": "2026-01-01T00:00:00Z",
    "updatedAt": "2026-01-01T00:00:00Z",
}
PAGE = {"data": [TENANT], "meta": {"total": 1, "page": 1, "limit": 100, "totalPages": 1}}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("MP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MP_BASE_URL", BASE)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    monkeypatch.setattr(cli, "RetryPolicy", lambda max_retries: RetryPolicy(max_retries=1, base_s=0.0))
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(cli.app, list(args), catch_exceptions=False)
    return result


def answer(request: httpx.Request) -> httpx.Response:
    events = json.loads(request.content)["events"]
    statuses = [
        {"eventId": e["eventId"], "status": "rejected", "reason": "FEATURE_NOT_IN_PLAN"}
        if e["feature"] == "nope"
        else {"eventId": e["eventId"], "status": "accepted"}
        for e in events
    ]
    accepted = sum(s["status"] == "accepted" for s in statuses)
    body = {"accepted": accepted, "duplicates": 0, "rejected": len(events) - accepted, "events": statuses}
    return httpx.Response(202, json=body)


@respx.mock
def test_login_keeps_the_session_in_a_0600_profile_and_lists_tenants(
    runner: CliRunner, tmp_path: Path
) -> None:
    tokens = {"accessToken": "a1", "refreshToken": "r1", "user": USER}
    respx.post(f"{BASE}/api/v1/auth/login").respond(200, json=tokens)
    tenants = respx.get(f"{BASE}/api/v1/tenants").respond(200, json=PAGE)
    result = invoke(runner, "login", "--email", "ada@example.com", "--password", "Secret123", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tenant"] == "acme"
    credentials = tmp_path / "config" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
    saved = json.loads(credentials.read_text())["profiles"]["default"]
    assert saved["refresh_token"] == "r1" and saved["tenant_id"] == "t1"

    listed = invoke(runner, "tenants", "--output", "json")
    assert listed.exit_code == 0
    assert json.loads(listed.stdout)[0]["current"] is True
    assert tenants.calls[-1].request.headers["authorization"] == "Bearer a1"


@respx.mock
def test_usage_send_counts_accepted_rejected_and_invalid_lines(runner: CliRunner, tmp_path: Path) -> None:
    route = respx.post(EVENTS).mock(side_effect=answer)
    file = tmp_path / "usage.jsonl"
    lines = [
        {"eventId": "e1", "feature": "api_calls", "amount": 2},
        {"feature": "api_calls", "amount": 1},  # no id: derived from the line, stable across runs
        {"feature": "nope", "amount": 1},
        {"feature": "api_calls", "amount": "many"},  # invalid: never sent
    ]
    file.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    result = invoke(
        runner, "--api-key", "mp_live_k", "usage", "send", str(file), "--batch-size", "2", "-o", "json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["accepted"], report["rejected"], report["invalid"], report["lines"]) == (2, 1, 2, 5)
    assert report["rejected_reasons"] == {"FEATURE_NOT_IN_PLAN": 1}
    assert [len(json.loads(c.request.content)["events"]) for c in route.calls] == [2, 1]
    again = invoke(runner, "--api-key", "mp_live_k", "usage", "send", str(file), "-o", "json")
    first_ids = [e["eventId"] for c in route.calls[:2] for e in json.loads(c.request.content)["events"]]
    assert [e["eventId"] for e in json.loads(route.calls[2].request.content)["events"]] == first_ids
    assert again.exit_code == 0


@respx.mock
def test_usage_send_resumes_after_an_interruption(runner: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "usage.csv"
    file.write_text("eventId,feature,amount,timestamp\n" + "".join(f"c{i},api_calls,1,\n" for i in range(5)))
    route = respx.post(EVENTS).mock(
        side_effect=[answer, httpx.ConnectError("down"), httpx.ConnectError("down")]
    )
    first = invoke(runner, "--api-key", "mp_live_k", "usage", "send", str(file), "--batch-size", "2")
    assert first.exit_code == 1 and "resume" in first.output
    calls_before = route.call_count  # [c0 c1] answered, [c2 c3] failed (a try and a retry)
    route.side_effect = answer
    second = invoke(
        runner, "--api-key", "mp_live_k", "usage", "send", str(file), "--batch-size", "2", "-o", "json"
    )
    report = json.loads(second.stdout)
    assert (report["accepted"], report["resumed_from"], report["complete"]) == (5, 4, True)
    resent = [
        e["eventId"] for c in route.calls[calls_before:] for e in json.loads(c.request.content)["events"]
    ]
    assert resent == ["c2", "c3", "c4"]  # the answered batch is never re-sent


@respx.mock
def test_check_prints_json_and_api_errors_exit_1_with_the_code(runner: CliRunner) -> None:
    check = {"allowed": False, "feature": "sso", "type": "BOOLEAN"}
    respx.get(f"{BASE}/api/v1/entitlements/sso/check").respond(200, json=check)
    respx.get(f"{BASE}/api/v1/entitlements/gone/check").respond(401, json=envelope(401, "UNAUTHORIZED"))
    shown = invoke(runner, "--api-key", "mp_live_k", "check", "sso", "--output", "json")
    assert json.loads(shown.stdout)["allowed"] is False
    assert invoke(runner, "--api-key", "mp_live_k", "check", "sso").exit_code == 2
    failed = invoke(runner, "--api-key", "mp_live_k", "check", "gone")
    assert failed.exit_code == 1 and "UNAUTHORIZED" in failed.output and "corr-123" in failed.output


def test_commands_needing_a_session_say_how_to_log_in(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["api-keys", "list"])
    assert result.exit_code != 0 and "meterplex login" in result.output
