"""Run `python -m infra.local …` (what `make dev` / `make openapi` run) as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def clean_environment(**env: str) -> dict[str, str]:
    """This process's environment without MP_* or AWS endpoint settings, plus `env`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AWS_ENDPOINT"))}
    return kept | env


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
