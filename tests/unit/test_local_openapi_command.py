"""`make openapi` (`python -m infra.local openapi`) needs no local cloud and no MP_* variable
(issue 9, finding 12: it failed with "MP_CORE_TABLE required" outside a running cloud)."""

from __future__ import annotations

import json

from tests.support.local_cli import clean_environment, run_local


def test_make_openapi_works_without_a_local_cloud_or_any_mp_variable() -> None:
    environment = {k: v for k, v in clean_environment().items() if not k.startswith("AWS_")}
    result = run_local("openapi", env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["paths"]
