"""Lambda, locally: each function's handler loaded from its file and called in-process.

Like a Lambda execution environment, a function handles one event at a time (a lock per
function), and its module is imported once (cold start) and then reused. A caller may bound how
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
        super().__init__(f"function {name} is busy (waited {waited_s:g}s for its one execution environment)")
        self.name = name


class FunctionRunner:
    """Invoke `functions/<name>/handler.py:lambda_handler` the way Lambda does."""

    def __init__(self, functions_dir: Path = FUNCTIONS_DIR, topology: Any = None) -> None:
        isolate_powertools_state()  # one process, many execution environments: no shared event
        self.functions_dir = Path(functions_dir)
        self._topology = topology
        self._modules: dict[str, ModuleType] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.telemetry: TelemetrySink | None = None

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _limits(self, name: str) -> tuple[int, int]:
        for fn in getattr(self._topology, "FUNCTIONS", ()):
            if fn.name == name:
                return fn.memory_mb, fn.timeout_s
        return DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    def load(self, name: str) -> ModuleType:
        """The handler module, imported once by file path as `functions.<name>.handler`."""
        module = self._modules.get(name)
        if module is not None:
            return module
        path = self.functions_dir / name / "handler.py"
        if not path.is_file():
            raise FileNotFoundError(f"no handler for function {name!r} at {path}")
        module_name = f"functions.{name}.handler"
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
        self._modules[name] = module
        return module

    def context(self, name: str) -> LambdaContext:
        memory, timeout = self._limits(name)
        return LambdaContext(function_name=name, memory_limit_in_mb=memory, timeout_s=timeout)

    def invoke(self, name: str, event: dict[str, Any], *, wait_s: float | None = None) -> Any:
        lock = self._lock(name)
        if not lock.acquire(timeout=-1 if wait_s is None else wait_s):
            raise FunctionBusy(name, wait_s or 0)
        try:
            if self.telemetry is None:
                return self.load(name).lambda_handler(event, self.context(name))
            with self.telemetry.capture(name):
                return self.load(name).lambda_handler(event, self.context(name))
        finally:
            lock.release()

    def exists(self, name: str) -> bool:
        return (self.functions_dir / name / "handler.py").is_file()

    def timeout_s(self, name: str) -> int:
        return self._limits(name)[1]
