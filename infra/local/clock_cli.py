"""`python -m infra.local clock show | reset | advance --days N [--hours N] | advance --to ISO`.

Talks to a running local cloud over HTTP as the platform admin (`MP_ADMIN_EMAIL` /
`MP_ADMIN_PASSWORD`, the local cloud's defaults otherwise) and prints what fired. An advance that
answers 202 (its time budget ran out between two firings) is repeated with `to` = its target
until it is complete. Standard library only: it runs in the `make dev` environment.

The admin's access token (15 minutes, signed with the local cloud's per-run key) is kept in
`.local/clock-cli-token.json` (mode 0600) per URL, so repeated calls do not log in each time —
login is rate-limited to 10 a minute per client IP — and a stale one just means a new login.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK = "/api/v1/admin/clock"
TIMEOUT_S = 120  # an advance answers within its budget plus one firing
MAX_ROUNDS = 10_000
TOKEN_FILE = "clock-cli-token.json"


class CliError(Exception):
    pass


@dataclass
class Reply:
    status: int
    body: Any


def _expired(token: str) -> bool:
    """The JWT's `exp` has passed (read, not verified: the local cloud verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) < time.time()
    except (IndexError, KeyError, TypeError, ValueError):
        return True


class TokenCache:
    """Access tokens per (URL, email), in a file only the user can read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        return self._all().get(key)

    def put(self, key: str, token: str | None) -> None:
        tokens = {k: v for k, v in self._all().items() if not _expired(v)}
        if token is None:
            tokens.pop(key, None)
        else:
            tokens[key] = token
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(tokens, file)


class AdminClient:
    def __init__(self, url: str, email: str, password: str, cache: TokenCache | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise CliError(f"--url must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.cache = cache
        self._cache_key = f"{self.url} {email}"
        self.token: str | None = cache.get(self._cache_key) if cache else None

    def request(self, method: str, path: str, body: Any = None) -> Reply:
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        # http(s) only: checked in __init__
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                return Reply(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                parsed = json.loads(payload or b"null")
            except ValueError:
                parsed = payload.decode("utf-8", "replace")
            return Reply(error.code, parsed)
        except urllib.error.URLError as error:
            raise CliError(
                f"no local cloud at {self.url} ({error.reason}); start it with `make dev`"
            ) from error

    def login(self) -> None:
        self.token = None
        reply = self.request("POST", "/api/v1/auth/login", {"email": self.email, "password": self.password})
        if reply.status != 200:
            raise CliError(f"login as {self.email} failed: {_describe(reply)}")
        self.token = reply.body["accessToken"]
        if self.cache:
            self.cache.put(self._cache_key, self.token)

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Reply:
        if self.token is None:
            self.login()
        reply = self.request(method, path, body)
        if reply.status == 401:  # the cached token expired, or the local cloud restarted
            self.login()
            reply = self.request(method, path, body)
        if reply.status not in ok:
            raise CliError(f"{method} {path}: {_describe(reply)}")
        return reply


def _describe(reply: Reply) -> str:
    body = reply.body
    if not isinstance(body, dict):
        return f"HTTP {reply.status}"
    text = f"HTTP {reply.status} {body.get('code', '')}: {body.get('message', '')}"
    for detail in body.get("details") or []:
        text += f"\n  {detail.get('field')}: {detail.get('message')}"
    return text


def _clock_line(body: dict[str, Any]) -> str:
    return f"business time {body['now']} ({'frozen' if body['frozen'] else 'running'})"


def advance(client: AdminClient, request: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Advance, repeating while the local cloud answers 202; the final answer and every firing."""
    reply = client.call("POST", f"{CLOCK}/advance", request, ok=(200, 202))
    fired = list(reply.body["fired"])
    rounds = 1
    while reply.status == 202:
        if rounds >= MAX_ROUNDS:
            raise CliError(f"advance still incomplete after {rounds} rounds; now {reply.body['now']}")
        print(f"  … reached {reply.body['now']} ({len(fired)} firings so far), continuing", flush=True)
        repeat = {"to": reply.body["target"], "freeze": request.get("freeze", True)}
        reply = client.call("POST", f"{CLOCK}/advance", repeat, ok=(200, 202))
        fired += reply.body["fired"]
        rounds += 1
    return reply.body, fired


def run(
    action: str,
    *,
    url: str,
    days: int | None = None,
    hours: int | None = None,
    to: str | None = None,
    run_on: bool = False,
) -> int:
    from infra.local.cloud import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, STATE_DIR

    try:
        client = AdminClient(
            url,
            os.environ.get("MP_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL),
            os.environ.get("MP_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD),
            TokenCache(STATE_DIR / TOKEN_FILE),
        )
        if action == "show":
            print(_clock_line(client.call("GET", CLOCK).body))
        elif action == "reset":
            print(f"reset: {_clock_line(client.call('POST', f'{CLOCK}/reset').body)}")
        else:
            request: dict[str, Any] = {"freeze": not run_on}
            if to is not None:
                request["to"] = to
            if days is not None:
                request["days"] = days
            if hours is not None:
                request["hours"] = hours
            final, fired = advance(client, request)
            print(f"advanced: {_clock_line(final)}")
            print(f"fired {len(fired)} scheduled invocation(s)" + (":" if fired else ""))
            for firing in fired:
                print(f"  {firing['at']}  {firing['schedule']}")
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
