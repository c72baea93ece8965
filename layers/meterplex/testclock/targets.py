"""The schedules `advance` runs, as `admin_api` receives them in `MP_SCHEDULES` (ADR 0050).

The CDK writes this JSON from the topology with each target's function ARN; the local cloud writes
it from its own topology with plain function names. `admin_api` never imports the topology.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from meterplex.platform.schedules import parse_expression

CompletionCheck = Callable[[Any], bool]
NextWork = Callable[[Any], Any]  # (after: datetime) -> datetime | None


@dataclass(frozen=True)
class ScheduledTarget:
    name: str  # the topology's schedule name
    function: str  # what Lambda Invoke is given: a function name or ARN
    expression: str  # EventBridge Scheduler expression
    arn: str  # the schedule's ARN (the event's `resources`, account and region)
    completion: str = ""  # "module.path:function", a `(result) -> bool` polled after the firing
    next_work: str = (
        ""  # "module.path:function", `(after) -> datetime | None`: fire when work is due (ADR 0081)
    )


def dump_targets(targets: Iterable[ScheduledTarget]) -> str:
    return json.dumps([asdict(t) for t in targets], separators=(",", ":"))


def load_targets(text: str) -> tuple[ScheduledTarget, ...]:
    """Parse and validate (every expression parses, every completion is `module:function`)."""
    targets = tuple(ScheduledTarget(**entry) for entry in json.loads(text or "[]"))
    for target in targets:
        parse_expression(target.expression)
        for kind, path in (("completion", target.completion), ("next_work", target.next_work)):
            if path and ":" not in path:
                raise ValueError(f"schedule {target.name}: {kind} must be 'module.path:function'")
        if target.next_work and not target.completion:
            raise ValueError(f"schedule {target.name}: a next_work hint needs a completion check")
    return targets


def import_check(path: str) -> CompletionCheck:
    """`module.path:function` → the function."""
    module, _, attribute = path.partition(":")
    check = getattr(importlib.import_module(module), attribute)
    if not callable(check):
        raise TypeError(f"{path} is not callable")
    return check
