"""Payments fixtures: `localstripe` (PyPI: a stateful fake Stripe server) on a free port, a
subprocess per session; the official `stripe` library is pointed at it (`api_base`).

localstripe pickles its state to the fixed path /tmp/localstripe.pickle after every write; the
fixture starts it with that dump turned off (and `--from-scratch`), so parallel runs on a shared
machine never share or clobber state.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from infra.local.net import free_port
from infra.local.processes import stop

START_TIMEOUT_S = 30
LOCALSTRIPE = (
    "import localstripe.resources as r\n"
    "r.Store.dump_to_disk = lambda self: None\n"  # no shared /tmp/localstripe.pickle
    "from localstripe.server import start\n"
    "start()\n"
)
API_KEY = "sk_test_meterplex"


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if requests.get(f"{url}/v1/balance", auth=(API_KEY, ""), timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("localstripe did not start")
        time.sleep(0.1)
    yield url
    stop(process, 10)
