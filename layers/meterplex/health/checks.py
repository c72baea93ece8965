"""Dependency checks. Each answers quickly (short timeouts) and never raises."""

from __future__ import annotations

import time
from typing import Any

from meterplex.platform.settings import CoreTableSettings, KafkaSettings, load

UP, DOWN = "up", "down"


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
        result: dict[str, Any] = {"status": UP, **(detail or {})}
    except Exception as error:  # a health check reports failures, it does not raise them
        result = {"status": DOWN, "error": type(error).__name__}
    result["latencyMs"] = round((time.perf_counter() - started) * 1000)
    return result


def _dynamodb() -> dict[str, Any]:
    from pynamodb.connection import Connection

    table = load(CoreTableSettings).core_table
    Connection().describe_table(table)
    return {"table": table}


def _kafka() -> dict[str, Any]:
    from confluent_kafka.admin import AdminClient

    from meterplex.platform.kafka import client_config

    admin = AdminClient(client_config(load(KafkaSettings)) | {"socket.timeout.ms": 2000, "log_level": 0})
    metadata = admin.list_topics(timeout=2)
    return {"brokers": len(metadata.brokers), "topics": len(metadata.topics)}


def dependency_status() -> dict[str, dict[str, Any]]:
    return {"dynamodb": _timed(_dynamodb), "kafka": _timed(_kafka)}
