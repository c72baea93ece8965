"""A small reader for Bruno `.bru` request files, and the few post-response script effects the
Meterplex collection uses (`bru.setEnvVar(...)` under an optional `if (res.status === N)`).

Deliberately not a JavaScript interpreter: the patterns it understands are listed in
`post_response_effects`, and an unknown statement fails loudly instead of being skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
VAR = re.compile(r"\{\{(\w+)\}\}")


@dataclass
class BruRequest:
    path: Path
    name: str
    seq: int
    method: str
    url: str
    auth: str  # "none" | "bearer" | "inherit"
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # raw JSON text, {{vars}} unsubstituted
    script: str = ""

    @property
    def key(self) -> str:
        """`folder/file.bru`, how the test names a request."""
        return f"{self.path.parent.name}/{self.path.name}"


def _blocks(text: str) -> dict[str, str]:
    """Top-level `name {` … `}` blocks (a block closes at a `}` in column 0)."""
    blocks: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if name is None:
            match = re.match(r"^([\w:-]+) \{\s*$", line)
            if match:
                name, lines = match.group(1), []
        elif line.rstrip() == "}":
            blocks[name] = "\n".join(lines)
            name = None
        else:
            lines.append(line)
    return blocks


def _pairs(block: str) -> dict[str, str]:
    pairs = {}
    for line in block.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            pairs[key.strip()] = value.strip()
    return pairs


def parse(path: Path) -> BruRequest:
    blocks = _blocks(path.read_text())
    meta = _pairs(blocks["meta"])
    method = next(m for m in METHODS if m in blocks)
    request = _pairs(blocks[method])
    body = blocks.get("body:json")
    return BruRequest(
        path=path,
        name=meta.get("name", path.stem),
        seq=int(meta.get("seq", "0")),
        method=method.upper(),
        url=request["url"],
        auth=request.get("auth", "none"),
        token=_pairs(blocks.get("auth:bearer", "")).get("token"),
        headers=_pairs(blocks.get("headers", "")),
        body=body if body and body.strip() else None,
        script=blocks.get("script:post-response", ""),
    )


def folder(root: Path, name: str) -> list[BruRequest]:
    """The folder's requests in `seq` order."""
    return sorted((parse(p) for p in (root / name).glob("*.bru")), key=lambda r: (r.seq, r.path.name))


def substitute(text: str, env: dict[str, str]) -> str:
    return VAR.sub(lambda m: env.get(m.group(1), ""), text)


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def post_response_effects(script: str, status: int, body: Any) -> dict[str, Any]:
    """The environment variables the script sets for this response.

    Understood statements: `if (res.status === N) { … }`; `bru.setEnvVar("v", res.body.a.b)`;
    `const x = res.body.list.find(p => p.field === "VALUE")`; `if (x) bru.setEnvVar("v", x.field)`.
    """
    effects: dict[str, Any] = {}
    guard = re.search(r"if \(res\.status === (\d+)\)", script)
    if guard and int(guard.group(1)) != status:
        return effects
    found: dict[str, Any] = {}
    for match in re.finditer(
        r'const (\w+) = res\.body\.([\w.]+)\.find\(\w+ => \w+\.(\w+) === "([^"]*)"\)', script
    ):
        var, path, attr, wanted = match.groups()
        items = _dig(body, path) or []
        found[var] = next((i for i in items if isinstance(i, dict) and i.get(attr) == wanted), None)
    for match in re.finditer(r'bru\.setEnvVar\("(\w+)",\s*([\w.]+)\)', script):
        name, expr = match.groups()
        root, _, rest = expr.partition(".")
        if root == "res" and rest.startswith("body"):
            effects[name] = _dig(body, rest[len("body.") :]) if rest != "body" else body
        elif root in found:
            if found[root] is not None:
                effects[name] = _dig(found[root], rest)
        else:
            raise ValueError(f"unsupported script expression {expr!r}")
    return effects


def json_body(request: BruRequest, env: dict[str, str]) -> Any:
    return None if request.body is None else json.loads(substitute(request.body, env))
