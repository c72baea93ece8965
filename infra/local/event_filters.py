"""Lambda event filtering (the event source mapping's `FilterCriteria`), for the patterns we use.

A record passes when any pattern matches. Within a pattern every key must match; a dict descends
into the record, a list is a set of alternatives for a leaf: exact values, `{"exists": bool}`,
`{"prefix": str}`, `{"anything-but": [...]}`, `{"numeric": [op, n, ...]}`.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any

_MISSING = object()
_NUMERIC = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def matches_any(patterns: Iterable[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when the record passes the filter criteria (no patterns = everything passes)."""
    patterns = list(patterns)
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    for key, expected in pattern.items():
        value = record.get(key, _MISSING) if isinstance(record, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            # An absent object still lets `{"exists": false}` below it match.
            nested = {} if value is _MISSING else value
            if not isinstance(nested, Mapping) or not matches(expected, nested):
                return False
        elif isinstance(expected, list):
            if not _leaf_matches(expected, value):
                return False
        else:
            raise ValueError(f"filter pattern values must be objects or arrays, got {expected!r} at {key!r}")
    return True


def _leaf_matches(alternatives: list[Any], value: Any) -> bool:
    if isinstance(value, list):  # an array in the record matches when any element does
        return any(_leaf_matches(alternatives, v) for v in value)
    return any(_alternative_matches(alt, value) for alt in alternatives)


def _alternative_matches(alternative: Any, value: Any) -> bool:
    if not isinstance(alternative, Mapping):
        return value is not _MISSING and not isinstance(value, Mapping) and value == alternative
    (operator_name, operand), *rest = alternative.items()
    if rest:
        raise ValueError(f"one operator per filter object: {alternative!r}")
    if operator_name == "exists":
        present = value is not _MISSING and not isinstance(value, Mapping)
        return present if operand else value is _MISSING
    if value is _MISSING or isinstance(value, Mapping):
        return False
    if operator_name == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator_name == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        return value not in excluded
    if operator_name == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        pairs = zip(operand[::2], operand[1::2], strict=True)
        return all(_NUMERIC[op](value, bound) for op, bound in pairs)
    raise ValueError(f"unsupported filter operator {operator_name!r}")
