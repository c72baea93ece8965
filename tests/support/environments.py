"""Run requests in parallel the way Lambda does: each in its own execution environment (process).

A Lambda execution environment serves one request at a time; concurrency means more environments.
Threads in one process are not that: Powertools' resolver keeps the current event in class-level
state (`BaseRouter.current_event`) and the route in the app's context, so two threads resolving at
once read each other's requests. So `in_parallel_environments` forks one process per call from the
test process — with every module already imported, a fork costs milliseconds — releases them
together from a barrier, and collects what each returned. The children reach the same moto server
(it runs in the parent) over HTTP, each on connections of its own: a pooled socket must never be
shared across a fork. Likewise a thread pool: a fork copies no thread, so services that own one are
built again in each child.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

START_TIMEOUT_S = 60
RESULT_TIMEOUT_S = 120


def _close_pools(client: Any) -> None:
    client._endpoint.http_session.close()  # botocore's URLLib3Session: empties its pool managers


# the process-wide botocore clients (`@cache`d factories) a handler may have used in the parent
_CLIENT_FACTORIES = (
    ("meterplex.platform.dynamodb", "dynamodb_client"),
    ("meterplex.platform.clock_store", "_client"),
    ("meterplex.webhooks.queue", "sqs_client"),
    ("meterplex.webhooks.secrets", "kms_client"),
    ("meterplex.testclock.invoker", "lambda_client"),
)


def fresh_aws_clients() -> None:
    """Drop every HTTP connection this process inherited from its parent (PynamoDB's per-model
    clients and the cached botocore clients keep their loaded service models, so no JSON is
    parsed again); new connections are opened on first use."""
    from pynamodb.models import Model

    pending = [Model]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        table_connection = cls.__dict__.get("_connection")
        client = getattr(getattr(table_connection, "connection", None), "_client", None)
        if client is not None:
            _close_pools(client)
    for module_name, factory_name in _CLIENT_FACTORIES:
        factory = getattr(sys.modules.get(module_name), factory_name, None)
        if factory is not None and factory.cache_info().currsize:
            _close_pools(factory())


# `@cache`d services that own worker threads: a fork copies no thread, so a pool inherited from the
# parent would queue work that never runs; each environment builds its own on first use
_THREAD_OWNING_FACTORIES = (("meterplex.usage.routes", "ingest_service"),)


def fresh_thread_pools() -> None:
    for module_name, factory_name in _THREAD_OWNING_FACTORIES:
        factory = getattr(sys.modules.get(module_name), factory_name, None)
        if factory is not None:
            factory.cache_clear()


def _child(index: int, call: Callable[..., Any], args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    try:
        fresh_aws_clients()
        fresh_thread_pools()
        barrier.wait(timeout=START_TIMEOUT_S)
        results.put((index, "ok", call(*args)))
    except BaseException:  # report it to the parent, whatever it is
        results.put((index, "error", traceback.format_exc()))


def in_parallel_environments(call: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """`call(*args)` for each args, each in its own forked process, all started at once; the
    results in the order of `arguments`. `call` and its results must be picklable-free values
    (results travel through a queue)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(arguments))
    results = context.Queue()
    processes = [
        context.Process(target=_child, args=(i, call, args, barrier, results), daemon=True)
        for i, args in enumerate(arguments)
    ]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    errors: list[str] = []
    try:
        for _ in processes:
            index, status, value = results.get(timeout=RESULT_TIMEOUT_S)
            if status == "ok":
                collected[index] = value
            else:
                errors.append(value)
    except queue.Empty:
        errors.append(f"only {len(collected) + len(errors)} of {len(processes)} environments answered")
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    if errors:
        raise AssertionError(f"{len(errors)} environments failed; first:\n{errors[0]}")
    return [collected[i] for i in range(len(arguments))]
