"""Per-invocation Powertools state for functions that share one local-cloud process.

In AWS every execution environment is its own process and handles one event at a time. Powertools
relies on that: its REST resolver keeps the event being handled in *class-level* state
(`BaseRouter.current_event`, `BaseRouter.lambda_context`), shared by every resolver of the process.
The local cloud runs all functions in one process, each invocation on the thread that delivers it
(a gateway request thread, a poller thread), so two HTTP functions handling requests at the same
time would read each other's event — the principal of another tenant's request, for one.

`isolate_powertools_state()` makes that state per thread, so each invocation sees only its own
event, exactly as separate execution environments would. Handlers are unchanged: they cannot tell.
It is installed by the local Lambda runtime (`FunctionRunner`) and is idempotent.
"""

from __future__ import annotations

import threading
from abc import ABCMeta
from typing import Any

_ATTRIBUTES = ("current_event", "lambda_context")
_state = threading.local()


def _getter(name: str) -> Any:
    def get(_: object) -> Any:
        try:
            return getattr(_state, name)
        except AttributeError:
            raise AttributeError(name) from None

    return get


def _setter(name: str) -> Any:
    def set_(_: object, value: Any) -> None:
        setattr(_state, name, value)

    return set_


def _per_thread(name: str) -> property:
    return property(_getter(name), _setter(name))


class _PerThreadRouterState(ABCMeta):
    """BaseRouter's metaclass: class-level reads and writes of its state go to this thread's slot."""

    current_event = _per_thread("current_event")
    lambda_context = _per_thread("lambda_context")


def isolate_powertools_state() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter, _PerThreadRouterState):
        return
    for name in _ATTRIBUTES:
        # instance reads/writes (`self.current_event`) find this descriptor on the class …
        setattr(BaseRouter, name, _per_thread(name))
    # … and class-level ones (`BaseRouter.current_event = …`) the metaclass's.
    BaseRouter.__class__ = _PerThreadRouterState  # type: ignore[method-assign,assignment]
