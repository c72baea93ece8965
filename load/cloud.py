"""The cloud under load: `MP_LOAD_URL` if given, else a local cloud started here as a subprocess
(`python -m infra.local serve`, what `make dev` runs) on free ports, without the demo seed."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from infra.local.net import free_port
from infra.local.processes import stop
from tests.e2e.conftest import output_of, serve
from tests.e2e.fuzzing import CLOUD_ENV  # a cheap password hash, login/register limits out of the way

START_TIMEOUT_S = 90
MOTO_LINE = re.compile(r"DynamoDB\s+(http://\S+) \(moto\)")


@dataclass(frozen=True)
class Target:
    url: str  # the gateway, e.g. http://127.0.0.1:41234
    moto_url: str | None  # its DynamoDB endpoint, when known
    stage: str = "local"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"


@contextmanager
def target(url: str | None, moto_url: str | None) -> Iterator[Target]:
    if url:
        yield Target(url.rstrip("/"), moto_url)
        return
    port = free_port()
    with tempfile.TemporaryFile() as output:
        process = serve(port, output, MP_SEED_DEMO="false", **CLOUD_ENV)
        dump = output_of(output)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(process, url, dump)
            found = MOTO_LINE.search(dump())
            print(f"local cloud started: {url} (moto {found.group(1) if found else '?'})", flush=True)
            yield Target(url, found.group(1) if found else None)
        finally:
            stop(process, 20)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, dump: Callable[[], str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise SystemExit(f"local cloud exited with {process.returncode}:\n{dump()}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200 and MOTO_LINE.search(dump()):
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"local cloud not healthy within {START_TIMEOUT_S}s:\n{dump()}")
        time.sleep(0.2)
