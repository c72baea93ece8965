"""Run `python -m infra.local …` (what `make dev` / `make openapi` run) as a subprocess."""

from __future__ import annotations

import subprocess
import sys

from infra.local.cloud_process import REPO_ROOT, clean_environment

__all__ = ["REPO_ROOT", "clean_environment", "run_local"]


def run_local(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.local", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
