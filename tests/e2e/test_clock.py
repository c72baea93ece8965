"""The test clock over real HTTP on the local cloud subprocess, and `python -m infra.local clock`.

Login is rate-limited per client IP (10/min) and every e2e test shares 127.0.0.1: this module logs
in twice (the admin here, the CLI once; its later calls reuse the token it keeps)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from infra import topology
from infra.local.cloud import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD
from infra.local.cloud_process import REPO_ROOT
from meterplex.demo.seed import DEMO_PASSWORD
from meterplex.platform.clock import parse_iso

TIMEOUT = 30
CLOCK = "/api/v1/admin/clock"


def token(url: str, email: str, password: str) -> str:
    reply = requests.post(
        f"{url}/api/v1/auth/login", json={"email": email, "password": password}, timeout=TIMEOUT
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["accessToken"])


@pytest.fixture(scope="module")
def admin_headers(clock_cloud_url: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(clock_cloud_url, DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD)}"}


@pytest.fixture(autouse=True)
def real_time_after(clock_cloud_url: str, admin_headers: dict[str, str]) -> Iterator[None]:
    """Every other e2e test shares this cloud: leave its clock at real time."""
    yield
    reply = requests.post(f"{clock_cloud_url}{CLOCK}/reset", headers=admin_headers, timeout=TIMEOUT)
    assert reply.status_code == 200


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MP_ADMIN")}
    return subprocess.run(
        [sys.executable, "-m", "infra.local", "clock", *args, "--url", url],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_show_advance_and_reset_over_http(clock_cloud_url: str, admin_headers: dict[str, str]) -> None:
    shown = requests.get(f"{clock_cloud_url}{CLOCK}", headers=admin_headers, timeout=TIMEOUT)
    assert shown.status_code == 200 and shown.json()["frozen"] is False
    start = parse_iso(shown.json()["now"])

    advanced = requests.post(
        f"{clock_cloud_url}{CLOCK}/advance",
        json={"days": 2, "hours": 3},
        headers=admin_headers,
        timeout=TIMEOUT,
    )

    assert advanced.status_code == 200, advanced.text
    body = advanced.json()
    assert body["frozen"] is True and body["complete"] is True
    # every firing of the topology's schedules in between, in time order (billing's daily run)
    fired = [(f["schedule"], parse_iso(f["at"])) for f in body["fired"]]
    assert fired == sorted(fired, key=lambda f: f[1]) and all(start < at for _, at in fired)
    assert {name for name, _ in fired} <= {s.name for s in topology.SCHEDULES}
    assert abs(parse_iso(body["now"]) - (start + timedelta(days=2, hours=3))) < timedelta(seconds=30)
    again = requests.get(f"{clock_cloud_url}{CLOCK}", headers=admin_headers, timeout=TIMEOUT).json()
    assert again == {"now": body["now"], "frozen": True}  # frozen: stands still

    backwards = requests.post(
        f"{clock_cloud_url}{CLOCK}/advance",
        json={"to": start.isoformat()},
        headers=admin_headers,
        timeout=TIMEOUT,
    )
    assert backwards.status_code == 400 and backwards.json()["code"] == "CLOCK_NOT_FORWARD"

    reset = requests.post(f"{clock_cloud_url}{CLOCK}/reset", headers=admin_headers, timeout=TIMEOUT)
    assert reset.status_code == 200 and reset.json()["frozen"] is False
    assert abs(parse_iso(reset.json()["now"]) - datetime.now(UTC)) < timedelta(seconds=30)


def test_a_tenant_owner_may_not_touch_the_clock(clock_cloud_url: str) -> None:
    slug = f"clock-{uuid.uuid4().hex[:8]}"
    registered = requests.post(
        f"{clock_cloud_url}/api/v1/auth/register",
        json={
            "email": f"{slug}@example.com",
            "password": DEMO_PASSWORD,
            "firstName": "Tenant",
            "lastName": "Owner",
            "tenantName": slug,
            "tenantSlug": slug,
        },
        timeout=TIMEOUT,
    )
    assert registered.status_code == 201, registered.text
    headers = {"authorization": f"Bearer {registered.json()['accessToken']}"}
    reply = requests.post(
        f"{clock_cloud_url}{CLOCK}/advance", json={"days": 1}, headers=headers, timeout=TIMEOUT
    )
    assert reply.status_code == 403 and reply.json()["code"] == "PLATFORM_ADMIN_REQUIRED"
    assert requests.get(f"{clock_cloud_url}{CLOCK}", timeout=TIMEOUT).status_code == 401


def test_the_cli_advances_shows_and_resets_the_clock(clock_cloud_url: str) -> None:
    before = datetime.now(UTC)
    advanced = cli(clock_cloud_url, "advance", "--days", "31")
    assert advanced.returncode == 0, advanced.stderr
    match = re.search(r"advanced: business time (\S+) \(frozen\)", advanced.stdout)
    assert match, advanced.stdout
    assert abs(parse_iso(match.group(1)) - (before + timedelta(days=31))) < timedelta(seconds=60)
    # every timed schedule at each of its fire times; webhook-retries (a next-work hint, ADR 0081)
    # never, as no delivery is due
    fired = Counter(re.findall(r"^\s+\S+Z\s+(\S+)$", advanced.stdout, re.MULTILINE))
    daily = {"billing-daily": 31, "reconciliation-daily": 31}
    assert fired == {**daily, "payments-twice-daily": 62}, advanced.stdout
    assert f"fired {fired.total()} scheduled invocation(s)" in advanced.stdout, advanced.stdout

    shown = cli(clock_cloud_url, "show")
    assert shown.returncode == 0 and f"business time {match.group(1)} (frozen)" in shown.stdout

    refused = cli(clock_cloud_url, "advance", "--to", "2020-01-01T00:00:00Z")
    assert refused.returncode == 1 and "CLOCK_NOT_FORWARD" in refused.stderr

    reset = cli(clock_cloud_url, "reset")
    assert reset.returncode == 0 and "(running)" in reset.stdout
