"""Per-invocation Powertools state for functions that share one local-cloud process.

In AWS every execution environment is its own process and handles one event at a time. Powertools
relies on that: its REST resolver keeps the event being handled in *class-level* state
(`BaseRouter.current_event`, `BaseRouter.lambda_context`), shared by every resolver of the process.
The local cloud runs all functions in one process, each invocation on the thread that delivers it
(a gateway request thread, a poller thread), so two HTTP functions handling requests at the same
time would read each other's event — the principal of another tenant's request, for one.

The same holds for the Logger's keys (its formatter's `log_format`: the correlation id, the
Lambda context) and for the Metrics' pending metric set (class-level dicts shared by every
instance): two functions running at once would log under each other's correlation id, and one
function's flush would print — and so claim — the other's metrics (ADR 0106).

`isolate_powertools_state()` makes all of that state per thread, so each invocation sees only its
own event, keys and metrics, exactly as separate execution environments would. Handlers are
unchanged: they cannot tell. It is installed by the local Lambda runtime (`FunctionRunner`) and is
idempotent.
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


# keys that belong to one invocation: a thread's first copy of a formatter's keys leaves them out
_INVOCATION_KEYS = frozenset({"correlation_id", "xray_trace_id"})


class _PerThreadLogKeys:
    """`LambdaPowertoolsFormatter.log_format`, per thread: the first assignment (the formatter's
    configuration) is the base each thread starts from, without invocation keys."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_per_thread_{name}"

    def __get__(self, formatter: Any, owner: type | None = None) -> Any:
        if formatter is None:
            return self
        keys: dict[int, dict[str, Any]] = _state.__dict__.setdefault(self.slot, {})
        mine = keys.get(id(formatter))
        if mine is None:
            base = formatter.__dict__.get(self.slot, {})
            mine = keys[id(formatter)] = {k: v for k, v in base.items() if k not in _INVOCATION_KEYS}
        return mine

    def __set__(self, formatter: Any, value: dict[str, Any]) -> None:
        formatter.__dict__.setdefault(self.slot, value)
        _state.__dict__.setdefault(self.slot, {})[id(formatter)] = value


class _PerThreadMetricState:
    """A Metrics (or EMF provider) set, per thread and shared by every instance — as Powertools
    shares it per process: `metric_set`, `metadata_set`, `dimension_sets` start empty in a thread,
    `dimension_set` from the default dimensions first assigned."""

    def __init__(self, name: str, empty: type, seeded: bool = False) -> None:
        self.name, self.empty, self.seeded = name, empty, seeded
        self.base: Any = None

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        sets: dict[str, Any] = _state.__dict__.setdefault("metric_state", {})
        if self.name not in sets:
            sets[self.name] = self.empty(self.base or ()) if self.seeded else self.empty()
        return sets[self.name]

    def __set__(self, instance: Any, value: Any) -> None:
        # an instance's constructor hands it the process-wide set: each thread keeps its own instead
        if self.base is None:
            self.base = dict(value) if isinstance(value, dict) else None


def _isolate_logger_keys() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if isinstance(LambdaPowertoolsFormatter.__dict__.get("log_format"), _PerThreadLogKeys):
        return
    descriptor = _PerThreadLogKeys()
    descriptor.__set_name__(LambdaPowertoolsFormatter, "log_format")
    existing = _formatters()
    for formatter in existing:  # formatters made before: their keys become the base
        formatter.__dict__[descriptor.slot] = formatter.__dict__.pop("log_format", {})
    LambdaPowertoolsFormatter.log_format = descriptor  # type: ignore[assignment]


def _formatters() -> list[Any]:
    import logging

    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return [
        handler.formatter
        for log in loggers
        for handler in getattr(log, "handlers", [])
        if isinstance(handler.formatter, LambdaPowertoolsFormatter)
    ]


_METRIC_STATE = (("metric_set", dict, False), ("metadata_set", dict, False), ("dimension_set", dict, True))


def _isolate_metrics() -> None:
    from aws_lambda_powertools.metrics import Metrics
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    if isinstance(Metrics.__dict__.get("metric_set"), _PerThreadMetricState):
        return
    states = {name: _PerThreadMetricState(name, empty, seeded) for name, empty, seeded in _METRIC_STATE}
    states["dimension_sets"] = _PerThreadMetricState("dimension_sets", list)
    states["dimension_set"].base = dict(Metrics._dimensions)
    for name, state in states.items():
        if name != "dimension_sets":
            setattr(Metrics, name, state)
        setattr(AmazonCloudWatchEMFProvider, name, state)


def isolate_powertools_state() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    _isolate_logger_keys()
    _isolate_metrics()
    if isinstance(BaseRouter, _PerThreadRouterState):
        return
    for name in _ATTRIBUTES:
        # instance reads/writes (`self.current_event`) find this descriptor on the class …
        setattr(BaseRouter, name, _per_thread(name))
    # … and class-level ones (`BaseRouter.current_event = …`) the metaclass's.
    BaseRouter.__class__ = _PerThreadRouterState  # type: ignore[method-assign,assignment]
