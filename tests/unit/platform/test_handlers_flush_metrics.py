"""Every function's handler flushes its metrics (ADR 0100): an EMF metric added by a stream, Kafka,
SQS or schedule handler without `@metrics.log_metrics` would never reach CloudWatch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra import topology

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"


def _decorators(handler: Path) -> list[str]:
    tree = ast.parse(handler.read_text())
    (entry,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler"]
    return [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in entry.decorator_list]


def _imports_platform_metrics(handler: Path) -> bool:
    tree = ast.parse(handler.read_text())
    return any(
        isinstance(n, ast.ImportFrom)
        and n.module == "meterplex.platform.observability"
        and any(a.name == "metrics" for a in n.names)
        for n in tree.body
    )


@pytest.mark.parametrize("function", sorted(f.name for f in topology.FUNCTIONS))
def test_every_handler_flushes_the_platform_metrics(function: str) -> None:
    handler = FUNCTIONS / function / "handler.py"
    assert "metrics.log_metrics" in _decorators(handler), f"{function}: no @metrics.log_metrics"
    assert _imports_platform_metrics(handler), f"{function}: flushes another Metrics than the platform's"
