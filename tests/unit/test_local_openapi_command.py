"""`make openapi` (`python -m infra.local openapi`) needs no local cloud and no MP_* variable
(issue 9, finding 12: it failed with "MP_CORE_TABLE required" outside a running cloud)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_openapi_works_without_a_local_cloud_or_any_mp_variable() -> None:
    # issue 9, finding 12: `python -m infra.local openapi` needed MP_CORE_TABLE
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AWS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "openapi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["paths"]
