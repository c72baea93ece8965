"""The cloud under load: `MP_LOAD_URL` if given, else a local cloud started here as a subprocess
(`python -m infra.local serve`, what `make dev` runs) on free ports, without the demo seed."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from infra.local.cloud_process import UNTHROTTLED_ENV, CloudNotHealthy, output_of, serve, wait_healthy
from infra.local.net import free_port
from infra.local.processes import stop

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
        process = serve(port, output, MP_SEED_DEMO="false", **UNTHROTTLED_ENV)
        dump = output_of(output)
        try:
            url = f"http://127.0.0.1:{port}"
            try:  # healthy, and it has printed its DynamoDB endpoint
                wait_healthy(
                    process, url, dump, START_TIMEOUT_S, ready=lambda: MOTO_LINE.search(dump()) is not None
                )
            except CloudNotHealthy as error:
                raise SystemExit(str(error)) from None
            found = MOTO_LINE.search(dump())
            print(f"local cloud started: {url} (moto {found.group(1) if found else '?'})", flush=True)
            yield Target(url, found.group(1) if found else None)
        finally:
            stop(process, 20)
