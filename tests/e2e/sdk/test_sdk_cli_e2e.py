"""The `meterplex` CLI over real HTTP against the local cloud: login, tenants, an API key saved
in the profile, `usage send` of a JSON Lines file (counts, then all duplicates on a re-send),
`check`, and revoking the key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meterplex_client import Meterplex
from meterplex_client.cli.app import app
from tests.support.sdk_tenants import SdkPlan, SdkTenant

LINES = 1000


def run(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--output", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_login_key_usage_send_and_check(
    new_tenant: Callable[[], SdkTenant],
    sdk_plan: SdkPlan,
    sdk_owner: Meterplex,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = new_tenant()
    monkeypatch.setenv("MP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MP_BASE_URL", sdk_plan.url)
    monkeypatch.delenv("MP_API_KEY", raising=False)
    email = f"sdk-cli-{uuid.uuid4().hex[:8]}@example.com"
    member = tenant.member()
    member.users.create(email=email, password="DevPass123", first_name="C", last_name="Li", role="ADMIN")
    member_slug = member.tenants.get(tenant.tenant_id).slug

    logged_in = run("login", "--email", email, "--password", "DevPass123", "--tenant", member_slug)
    assert logged_in["tenant"] == member_slug
    assert [t["slug"] for t in run("tenants") if t["current"]] == [member_slug]
    key = run("api-keys", "create", "cli", "--save")
    assert key["key"].startswith("mp_live_")

    # a file with valid events, one for a feature not in the plan, and one broken line
    now = datetime.now(UTC).isoformat()
    usage = tmp_path / "usage.jsonl"
    rows = [{"feature": sdk_plan.metered, "amount": 1, "timestamp": now} for _ in range(LINES)]
    rows.append({"feature": sdk_plan.flag, "amount": 1, "timestamp": now})  # BOOLEAN: rejected
    usage.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")

    sent = run("usage", "send", str(usage))
    assert (sent["accepted"], sent["rejected"], sent["invalid"]) == (LINES, 1, 1)
    assert sent["rejected_reasons"] == {"BOOLEAN_FEATURE": 1}
    again = run("usage", "send", str(usage))
    assert (again["accepted"], again["duplicates"]) == (0, LINES)  # ids derived from the lines

    checked = run("check", sdk_plan.flag)
    assert checked["allowed"] is True
    assert key["id"] in {k["id"] for k in run("api-keys", "list")}
    assert run("api-keys", "revoke", key["id"])["status"] == "REVOKED"
