"""One direction of dependency: tests import the product, never the other way round. The functions,
the layer, the CDK app, the local cloud and the load harness import nothing from `tests` (a user's
deployment and `make load` work without the test suites)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("functions", "layers/meterplex", "infra", "load")


def imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def imports_tests(source: Path) -> bool:
    return any(m == "tests" or m.startswith("tests.") for m in imported_modules(source))


def product_sources() -> list[Path]:
    return sorted(p for part in PRODUCT for p in (ROOT / part).rglob("*.py") if "cdk.out" not in p.parts)


def test_imports_tests_sees_a_module_and_a_function_level_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from tests.support.waiting import wait_for\n")
    assert imports_tests(source)
    source.write_text("import tests.e2e\n")
    assert imports_tests(source)
    source.write_text("from infra.local.replies import ok\nimport testsuite\n")
    assert not imports_tests(source)


@pytest.mark.parametrize("part", PRODUCT)
def test_product_code_never_imports_the_tests(part: str) -> None:
    sources = [p for p in product_sources() if p.is_relative_to(ROOT / part)]
    assert sources, part
    assert [str(p.relative_to(ROOT)) for p in sources if imports_tests(p)] == []
