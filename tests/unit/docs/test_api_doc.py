"""docs/api.md stays the product's own reference: every operation of the OpenAPI document and
every error code the code can answer is named there; the product's docs link only into the
repository (issue 9, finding 13: README linked ../shared, which a clone does not have)."""

from __future__ import annotations

import re
from pathlib import Path

from meterplex.docs.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[3]
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
CODE_PATTERNS = (
    re.compile(r'code="([A-Z][A-Z0-9_]+)"'),
    re.compile(r'default_code = "([A-Z][A-Z0-9_]+)"'),
    re.compile(r'error_response\(\s*\d{3},\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'\.error\(\s*\d{3},\s*"([A-Z][A-Z0-9_]+)"'),
)


def test_every_operation_of_the_document_is_described() -> None:
    missing = [
        f"{method.upper()} {path}"
        for path, operations in openapi_document()["paths"].items()
        for method in operations
        if f"`{method.upper()} {path}" not in API_DOC
    ]
    assert not missing, f"add these to docs/api.md: {missing}"


def test_every_error_code_is_listed() -> None:
    sources = [*ROOT.glob("layers/meterplex/**/*.py"), *ROOT.glob("infra/local/*.py")]
    codes = {code for path in sources for p in CODE_PATTERNS for code in p.findall(path.read_text("utf-8"))}
    assert len(codes) > 40  # the patterns still find the codes
    missing = sorted(code for code in codes if f"`{code}`" not in API_DOC)
    assert not missing, f"add these error codes to docs/api.md: {missing}"


def test_the_product_docs_link_only_inside_the_repository() -> None:
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for target in link.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target):
                continue
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{doc.relative_to(ROOT)} links outside: {target}"
            assert resolved.exists(), f"{doc.relative_to(ROOT)} links a missing file: {target}"
