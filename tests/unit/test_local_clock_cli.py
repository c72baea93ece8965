"""`python -m infra.local clock`: the advance loop over 202s and the token cache, without a network."""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from infra.local.clock_cli import AdminClient, CliError, Reply, TokenCache, advance


def jwt(exp: float) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'exp': exp})}.signature"


class FakeClient:
    """Answers advance requests from a script; records what was asked."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Reply:
        self.requests.append(body)
        reply = self.replies.pop(0)
        assert reply.status in ok
        return reply


def answer(status: int, now: str, fired: list[str]) -> Reply:
    body = {
        "now": now,
        "frozen": True,
        "target": "2026-03-03T00:00:00.000Z",
        "complete": status == 200,
        "fired": [{"schedule": "billing", "at": at} for at in fired],
    }
    return Reply(status, body)


def test_advance_repeats_a_202_with_the_target_until_complete(capsys: pytest.CaptureFixture[str]) -> None:
    client = FakeClient(
        [
            answer(202, "2026-02-01T01:00:00.000Z", ["2026-02-01T01:00:00.000Z"]),
            answer(202, "2026-02-02T01:00:00.000Z", ["2026-02-02T01:00:00.000Z"]),
            answer(200, "2026-03-03T00:00:00.000Z", ["2026-02-03T01:00:00.000Z"]),
        ]
    )
    final, fired = advance(client, {"days": 31, "freeze": True})  # type: ignore[arg-type]
    assert final["complete"] and len(fired) == 3
    assert client.requests == [
        {"days": 31, "freeze": True},
        {"to": "2026-03-03T00:00:00.000Z", "freeze": True},
        {"to": "2026-03-03T00:00:00.000Z", "freeze": True},
    ]
    assert "continuing" in capsys.readouterr().out


def test_token_cache_is_private_and_forgets_expired_tokens(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "tokens.json")
    live, dead = jwt(time.time() + 600), jwt(time.time() - 1)
    cache.put("old", dead)
    cache.put("now", live)
    assert cache.get("now") == live and cache.get("old") is None  # pruned on the next write
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
    cache.put("now", None)
    assert cache.get("now") is None


def test_a_corrupt_cache_is_empty(tmp_path: Path) -> None:
    (tmp_path / "tokens.json").write_text("{not json")
    assert TokenCache(tmp_path / "tokens.json").get("x") is None


def test_the_url_must_be_http() -> None:
    with pytest.raises(CliError):
        AdminClient("file:///etc/passwd", "a@b.c", "pw")
