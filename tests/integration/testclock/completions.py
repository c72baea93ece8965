"""Completion checks the test schedules declare (`module:function`), with what they were polled with."""

from typing import Any

POLLS: list[Any] = []


def after_three_polls(result: Any) -> bool:
    POLLS.append(result)
    return len(POLLS) % 3 == 0


def never(result: Any) -> bool:
    POLLS.append(result)
    return False
