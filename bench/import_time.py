"""Cold-start import cost of a handler module vs `import boto3`, measured with `python -X importtime`.

Each run is a fresh interpreter (like a Lambda cold start). The figure per run is the sum of the
cumulative times of the top-level imports `-X importtime` reports; we print the median of N runs.

    python -m bench.import_time [function ...]      (default: entitlements_api)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
ENV = {
    "MP_STAGE": "bench",
    "MP_CORE_TABLE": "bench-core",
    "MP_USAGE_TABLE": "bench-usage",
    "MP_JWT_SECRET": "x" * 48,
    "MP_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def import_ms(statement: str) -> float:
    """Median total top-level import time (ms) of `statement` in fresh interpreters."""
    totals = []
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", statement],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=os.environ | ENV,
            check=True,
        )
        total_us = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            _self, cumulative, name = line.removeprefix("import time:").split("|", 2)
            if not name.startswith("  "):  # top level: its cumulative time includes its children
                total_us += int(cumulative)
        totals.append(total_us / 1000)
    return statistics.median(totals)


def handler_statement(function: str) -> str:
    path = ROOT / "functions" / function / "handler.py"
    return (
        "import importlib.util as u; "
        f"s = u.spec_from_file_location('handler', {str(path)!r}); m = u.module_from_spec(s); "
        "s.loader.exec_module(m)"
    )


def main(functions: list[str]) -> None:
    baseline = import_ms("import boto3")
    print(f"import boto3: {baseline:.0f} ms (median of {RUNS} fresh interpreters)")
    for function in functions:
        ms = import_ms(handler_statement(function))
        print(f"{function} handler module: {ms:.0f} ms = {ms / baseline:.2f}x import boto3")


if __name__ == "__main__":
    main(sys.argv[1:] or ["entitlements_api"])
