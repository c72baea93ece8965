"""The local cloud as a child process: `python -m infra.local serve` (what `make dev` runs).

Shared by everything that starts a whole cloud of its own and talks to it over real HTTP — the
load harness (`load/`) and the end-to-end tests (`tests/e2e`) — so none of them depends on another:
`serve` starts it on a given port (moto and Tansu on free ports, none of the caller's MP_* or AWS
endpoint settings), `output_of` reads what it printed, `wait_healthy` waits for `/health`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]
OUTPUT_TAIL_CHARS = 20_000

# A cloud for tools that drive many requests (the fuzzer, the load harness): a cheap password hash,
# and the login/register rate limits out of the way, so requests reach the handlers rather than the
# limiter (which tests/integration/identity covers).
UNTHROTTLED_ENV = {
    "MP_BCRYPT_ROUNDS": "4",
    "MP_RATE_LOGIN_PER_IP": "1000000",
    "MP_RATE_LOGIN_FAILURES_PER_EMAIL": "1000000",
    "MP_RATE_REGISTER_PER_IP": "1000000",
    "MP_RATE_FORGOT_PER_IP": "1000000",
}


class CloudNotHealthy(RuntimeError):
    """The cloud exited, or did not answer `/health` in time; the message ends with its output."""


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without MP_* or AWS endpoint settings, plus `env`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AWS_ENDPOINT"))}
    return kept | env


def serve(port: int, output: IO[bytes], **env: str) -> subprocess.Popen[bytes]:
    """`python -m infra.local serve --port <port>`, moto and Tansu on free ports unless `env` says
    otherwise, its stdout and stderr into `output`."""
    # metrics on, as `make dev` has them (the unit suites turn them off): /local/metrics shows them
    defaults = {
        "MP_MOTO_PORT": "0",
        "MP_KAFKA_PORT": "0",
        "PYTHONUNBUFFERED": "1",
        "POWERTOOLS_METRICS_DISABLED": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "infra.local", "serve", "--port", str(port)],
        cwd=REPO_ROOT,
        env=clean_environment(**(defaults | env)),
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def output_of(output: IO[bytes]) -> Callable[[], str]:
    """A function returning the last characters the cloud printed into `output` so far."""

    def dump() -> str:
        output.seek(0)
        return output.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]

    return dump


def wait_healthy(
    process: subprocess.Popen[bytes],
    url: str,
    dump: Callable[[], str],
    timeout_s: float,
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Until `url/health` answers 200 and `ready()` holds; `CloudNotHealthy` if the process exits
    first or `timeout_s` passes (then the process is terminated)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise CloudNotHealthy(f"local cloud exited with {process.returncode}:\n{dump()}")
        if _answers(f"{url}/health") and ready():
            return
        if time.monotonic() > deadline:
            process.terminate()
            raise CloudNotHealthy(f"local cloud not healthy within {timeout_s:g}s:\n{dump()}")
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
            return bool(response.status == 200)
    except OSError:  # refused, reset, timed out, or an HTTP error status (URLError is an OSError)
        return False
