"""Messages handled at once on threads (webhook_delivery's attempts) each log and write under
their own correlation id (`observability.correlated`), and an SQS message's id is its
`x-correlation-id` attribute, when valid (ADR 0105)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import correlated, current_correlation_id, logger
from meterplex.platform.sqs_messages import correlation_id_of_message
from tests.support.log_lines import captured_log_lines

AT = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    with captured_log_lines() as lines:
        yield lines


def test_messages_handled_at_once_on_threads_each_log_and_write_under_their_own_id(
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # GIVEN two messages handled at the same time, each on a thread in a copy of the context
    outside = current_correlation_id()  # whatever an earlier test left on the Logger
    barrier = threading.Barrier(2)
    events: dict[str, DomainEvent] = {}

    def handle(correlation_id: str) -> None:
        with correlated(correlation_id):
            barrier.wait()  # both are inside `correlated` now
            logger.info("handled", handled=correlation_id)
            events[correlation_id] = DomainEvent.new("m.done", tenant_id="t", at=AT, data={})

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(handle, cid)) for cid in ("m-1", "m-2")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN each line and each event carries its own message's id, and none stays behind
    assert {line["handled"]: line.get("correlation_id") for line in log_lines()} == {
        "m-1": "m-1",
        "m-2": "m-2",
    }
    assert {cid: e.correlationId for cid, e in events.items()} == {"m-1": "m-1", "m-2": "m-2"}
    with correlated("m-3"):
        assert current_correlation_id() == "m-3"
    assert current_correlation_id() == outside


def test_an_sqs_message_correlation_id_is_its_attribute_when_valid() -> None:
    def message(value: Any) -> dict[str, Any]:
        return {"messageAttributes": {"x-correlation-id": {"stringValue": value, "dataType": "String"}}}

    assert correlation_id_of_message(message("req-7")) == "req-7"
    assert correlation_id_of_message(message("no spaces allowed")) is None
    assert correlation_id_of_message(message(None)) is None
    assert correlation_id_of_message({"messageAttributes": {}}) is None
    assert correlation_id_of_message({}) is None
