"""Lambda, locally: each function's handler loaded from its file and called in-process.

Like a Lambda execution environment, an environment of a function handles one event at a time,
and its module is imported once (cold start) and then reused. A function has one environment,
or up to `CONCURRENT_ENVIRONMENTS` of them: each its own import of the handler module (its own
resolver and module state; the shared layer's per-invocation state is per thread, ADR 0106), the
next one started only when all are busy, as Lambda scales out (ADR 0117). A caller may bound how
long it waits for a busy function (`wait_s`): it then gets `FunctionBusy`, as Lambda answers 429
to a function at its concurrency limit — so a function invoking itself fails, never deadlocks.
With a telemetry sink, what a function writes while it runs is also kept in its own log file, as
Lambda keeps it in the function's log group (infra.local.telemetry).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from infra.local.aws import ACCOUNT_ID, REGION
from infra.local.isolation import isolate_powertools_state
from infra.local.telemetry import TelemetrySink

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO_ROOT / "functions"
DEFAULT_MEMORY_MB = 512
DEFAULT_TIMEOUT_S = 10
# Functions that run more than one environment locally: usage ingest, which clients (and the
# benches) drive with concurrent batches; every other function handles one event at a time.
CONCURRENT_ENVIRONMENTS = {"usage_api": 2}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    timeout_s: int = DEFAULT_TIMEOUT_S
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:meterplex-local-{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/meterplex-local-{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionBusy(RuntimeError):
    def __init__(self, name: str, waited_s: float) -> None:
        super().__init__(f"function {name} is busy (waited {waited_s:g}s for a free execution environment)")
        self.name = name


class _Environments:
    """A function's environment slots: the lowest free one is taken (one at a time: always 0)."""

    def __init__(self, limit: int) -> None:
        self._free = list(range(max(1, limit)))
        self._ready = threading.Condition()

    def take(self, wait_s: float | None) -> int | None:
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._free), timeout=wait_s):
                return None
            slot = min(self._free)
            self._free.remove(slot)
            return slot

    def give(self, slot: int) -> None:
        with self._ready:
            self._free.append(slot)
            self._ready.notify()


class FunctionRunner:
    """Invoke `functions/<name>/handler.py:lambda_handler` the way Lambda does."""

    def __init__(
        self,
        functions_dir: Path = FUNCTIONS_DIR,
        topology: Any = None,
        concurrency: Mapping[str, int] = CONCURRENT_ENVIRONMENTS,
    ) -> None:
        isolate_powertools_state()  # one process, many execution environments: no shared event
        self.functions_dir = Path(functions_dir)
        self._topology = topology
        self._concurrency = dict(concurrency)
        self._modules: dict[str, ModuleType] = {}  # each function's first environment
        self._more: dict[tuple[str, int], ModuleType] = {}  # (function, slot ≥ 1) → its environment
        self._environments: dict[str, _Environments] = {}
        self._guard = threading.Lock()
        self.telemetry: TelemetrySink | None = None

    def reserve(self, name: str, wait_s: float | None = None) -> int:
        """Take a free environment slot of the function (FunctionBusy after `wait_s`)."""
        with self._guard:
            environments = self._environments.setdefault(name, _Environments(self._concurrency.get(name, 1)))
        slot = environments.take(wait_s)
        if slot is None:
            raise FunctionBusy(name, wait_s or 0)
        return slot

    def release(self, name: str, slot: int) -> None:
        self._environments[name].give(slot)

    def _environment(self, name: str, slot: int) -> ModuleType:
        if slot == 0:
            return self.load(name)
        with self._guard:
            module = self._more.get((name, slot))
        if module is None:  # this slot's cold start; only its holder gets here
            module = self._import(name, f"functions.{name}.handler_{slot}")
            with self._guard:
                self._more[(name, slot)] = module
        return module

    def _limits(self, name: str) -> tuple[int, int]:
        for fn in getattr(self._topology, "FUNCTIONS", ()):
            if fn.name == name:
                return fn.memory_mb, fn.timeout_s
        return DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    def load(self, name: str) -> ModuleType:
        """The handler module of the function's first environment, imported once by file path as
        `functions.<name>.handler` (another environment's: `functions.<name>.handler_<slot>`)."""
        module = self._modules.get(name)
        if module is None:
            module = self._modules[name] = self._import(name, f"functions.{name}.handler")
        return module

    def _import(self, name: str, module_name: str) -> ModuleType:
        path = self.functions_dir / name / "handler.py"
        if not path.is_file():
            raise FileNotFoundError(f"no handler for function {name!r} at {path}")
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module

    def context(self, name: str) -> LambdaContext:
        memory, timeout = self._limits(name)
        return LambdaContext(function_name=name, memory_limit_in_mb=memory, timeout_s=timeout)

    def invoke(self, name: str, event: dict[str, Any], *, wait_s: float | None = None) -> Any:
        slot = self.reserve(name, wait_s)
        try:
            module = self._environment(name, slot)
            if self.telemetry is None:
                return module.lambda_handler(event, self.context(name))
            with self.telemetry.capture(name):
                return module.lambda_handler(event, self.context(name))
        finally:
            self.release(name, slot)

    def exists(self, name: str) -> bool:
        return (self.functions_dir / name / "handler.py").is_file()

    def timeout_s(self, name: str) -> int:
        return self._limits(name)[1]
