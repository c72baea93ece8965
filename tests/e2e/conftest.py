"""The whole local cloud as a subprocess (`python -m infra.local serve`), reached over real HTTP.

`local_cloud_url` (session): the base URL, e.g. http://127.0.0.1:54321, of the shared cloud with
the demo data; `clock_cloud_url` (session): a second one for the tests that move the test clock.
Each writes its functions' logs to its own directory (`MP_LOCAL_LOGS_DIR`): `local_cloud_logs`.
moto and Tansu run on free ports (MP_MOTO_PORT=0, MP_KAFKA_PORT=0), so the suite never collides
with a running `make dev`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.local import cloud_process
from infra.local.cloud_process import CloudNotHealthy, output_of, serve
from infra.local.net import free_port
from infra.local.processes import stop
from infra.local.telemetry import LOGS_DIR_ENV

START_TIMEOUT_S = 180  # a loaded CI machine (two test workers) starts a cloud slowly
LOG_DIRS: dict[str, Path] = {}  # a running cloud's URL → its function logs directory


@contextmanager
def running_cloud(**env: str) -> Iterator[str]:
    """A local cloud subprocess, healthy, for as long as the block runs; its base URL. Its output is
    printed at the end when a test failed meanwhile."""
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="meterplex-logs-"))
    with tempfile.TemporaryFile() as output:
        process = serve(port, output, **({LOGS_DIR_ENV: str(logs)} | env))
        url = f"http://127.0.0.1:{port}"
        LOG_DIRS[url] = logs
        dump = output_of(output)
        wait_healthy(process, url, dump)
        failed_before = _FAILURES["count"]
        try:
            yield url
        finally:
            stop(process, 15)
            LOG_DIRS.pop(url, None)
            shutil.rmtree(logs, ignore_errors=True)
            if _FAILURES["count"] > failed_before:
                sys.stderr.write(f"\n--- local cloud output ---\n{dump()}\n")


@pytest.fixture(scope="session")
def local_cloud_url() -> Iterator[str]:
    """The shared local cloud (demo data seeded). Its business time is never moved: tests that move
    the test clock use `clock_cloud_url`, so no other test sees periods billed in its future."""
    with running_cloud() as url:
        yield url


@pytest.fixture(scope="session")
def local_cloud_logs(local_cloud_url: str) -> Path:
    """The shared cloud's function logs directory (`.local/logs` under `make dev`)."""
    return LOG_DIRS[local_cloud_url]


@pytest.fixture(scope="session")
def clock_cloud_url() -> Iterator[str]:
    """A second local cloud for the tests that move the test clock (SPEC §8.1), without the demo
    seed; each such test resets the clock when it is done."""
    with running_cloud(MP_SEED_DEMO="false") as url:
        yield url


def wait_healthy(process: subprocess.Popen[bytes], url: str, dump: Callable[[], str]) -> None:
    """`cloud_process.wait_healthy` with this suite's start budget; a test failure otherwise."""
    try:
        cloud_process.wait_healthy(process, url, dump, START_TIMEOUT_S)
    except CloudNotHealthy as error:
        pytest.fail(str(error))


_FAILURES = {"count": 0}  # test failures, to dump the cloud's output only when useful


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        _FAILURES["count"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzzer's report (tests/e2e/fuzzing.py), when it ran."""
    from tests.e2e.fuzzing import REPORT

    if REPORT.stats:
        for line in REPORT.lines():
            terminalreporter.write_line(line)
