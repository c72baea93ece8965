"""The one PartiQL statement shape the platform sends: `INSERT INTO "<table>" VALUE {…}`.

Usage ingest writes each event with an INSERT (ADR 0070) whose values are `?` parameters, or
literals for the attributes most events of a request share (ADR 0117): a string in single quotes
(a quote inside doubled, PartiQL's only escape) or a number. The emulator runs these natively
(`aws.native_partiql_inserts`); any other statement is left to moto. Parsed once per statement
text: a request's statements repeat one or a few texts.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

_INSERT = re.compile(
    r"""^\s*INSERT\s+INTO\s+"(?P<table>[^"]+)"\s+VALUE\s+\{(?P<body>.*)\}\s*$""", re.S | re.I
)
# one `'<name>': <value>` of the tuple, and the comma after it (or the tuple's end)
_MEMBER = re.compile(
    r"""\s*'(?P<name>(?:[^']|'')+)'\s*:\s*"""
    r"""(?:(?P<parameter>\?)|'(?P<text>(?:[^']|'')*)'|(?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))"""
    r"""\s*(?P<comma>,)?""",
    re.S,
)


@dataclass(frozen=True)
class InsertShape:
    table: str
    parameters: tuple[str, ...]  # the attribute of each `?`, in order
    literals: tuple[tuple[str, str, str], ...]  # (attribute, "S" | "N", value) spelled in the text

    @cached_property
    def names(self) -> tuple[str, ...]:
        return self.parameters + tuple(name for name, _, _ in self.literals)

    @cached_property
    def distinct(self) -> bool:
        """No attribute is named twice (DynamoDB refuses such a statement)."""
        return len(set(self.names)) == len(self.names)

    def item(self, values: list[dict[str, Any]]) -> dict[str, Any]:
        """The item the statement writes with these parameter values (DynamoDB JSON)."""
        item = dict(zip(self.parameters, values, strict=True))
        for name, kind, value in self.literals:
            item[name] = {kind: value}
        return item


def insert_shapes(statements: Any) -> list[InsertShape] | None:
    """Each statement's shape when a batch is all the platform's INSERTs; None for an empty batch
    or one with any other statement (moto's)."""
    if not isinstance(statements, list) or not statements:
        return None
    shapes = []
    for statement in statements:
        text = statement.get("Statement") if isinstance(statement, dict) else None
        shape = insert_shape(text) if isinstance(text, str) else None
        if shape is None:
            return None
        shapes.append(shape)
    return shapes


@functools.lru_cache(maxsize=512)
def insert_shape(statement: str) -> InsertShape | None:
    """The INSERT's table, parameters and literals; None for any other statement."""
    found = _INSERT.match(statement)
    if found is None:
        return None
    body = found.group("body")
    parameters: list[str] = []
    literals: list[tuple[str, str, str]] = []
    position = 0
    while True:
        member = _MEMBER.match(body, position)
        if member is None:
            return None
        name = member.group("name").replace("''", "'")
        if member.group("parameter"):
            parameters.append(name)
        elif member.group("text") is not None:
            literals.append((name, "S", member.group("text").replace("''", "'")))
        else:
            literals.append((name, "N", member.group("number")))
        position = member.end()
        if not member.group("comma"):
            break
    if body[position:].strip():
        return None
    return InsertShape(found.group("table"), tuple(parameters), tuple(literals))
