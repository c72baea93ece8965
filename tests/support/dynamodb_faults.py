"""Make DynamoDB answer what moto never does: a transaction cancelled by a conflict or throttling.

moto serializes every write, so `TransactionConflict` never happens there; real DynamoDB answers it
whenever two requests touch one item at once. `cancelled_transactions()` short-circuits the next
TransactWriteItems calls of a botocore client (by default the core table's PynamoDB connection)
with exactly the error DynamoDB sends (botocore's `before-call` hook returns the response, no
request is made), so tests can show what our code does with it. Nothing in the code under test is replaced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

OPERATION = "before-call.dynamodb.TransactWriteItems"


class _HttpResponse:
    status_code = 400
    headers: dict[str, str] = {}
    content = b""


def cancellation(item_count: int, first_reason: str) -> dict[str, Any]:
    """The parsed error body of a TransactWriteItems cancelled by its first item."""
    reasons = [{"Code": first_reason, "Message": f"{first_reason} on the first item"}]
    reasons += [{"Code": "None"}] * (item_count - 1)
    codes = ", ".join(r["Code"] for r in reasons)
    return {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons [{codes}]",
        },
        "CancellationReasons": reasons,
        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}},
    }


@contextmanager
def cancelled_transactions(
    times: int = 1, reason: str = "TransactionConflict", *, client: Any = None, after: int = 0
) -> Iterator[list[int]]:
    """The next `times` transactions of `client` (default: the core table's PynamoDB connection),
    once `after` have gone through, are cancelled with `reason` on their first item; yields the
    item counts of those it cancelled."""
    if client is None:
        from meterplex.platform.core_table import core_connection

        client = core_connection().client
    cancelled: list[int] = []
    passed: list[int] = []

    def cancel(params: dict[str, Any], **_: Any) -> tuple[_HttpResponse, dict[str, Any]] | None:
        if len(passed) < after:
            passed.append(1)
            return None
        if len(cancelled) >= times:
            return None
        body = params.get("body") or b"{}"  # the serialized request: {"TransactItems": [...]}
        count = len(json.loads(body).get("TransactItems") or [])
        cancelled.append(count)
        return _HttpResponse(), cancellation(count, reason)

    client.meta.events.register_first(OPERATION, cancel, unique_id="test-cancelled-transactions")
    try:
        yield cancelled
    finally:
        client.meta.events.unregister(OPERATION, unique_id="test-cancelled-transactions")


@contextmanager
def before_next_transaction(action: Callable[[], None], *, client: Any = None) -> Iterator[list[int]]:
    """Run `action()` (another writer, e.g. a concurrent request) just before the next transaction
    of `client` (default: the core table's PynamoDB connection) is sent — after the request that
    sends it has read what it read. Yields [1] once it ran."""
    if client is None:
        from meterplex.platform.core_table import core_connection

        client = core_connection().client
    ran: list[int] = []

    def interleave(**_: Any) -> None:
        if not ran:
            ran.append(1)
            action()

    client.meta.events.register_first(OPERATION, interleave, unique_id="test-before-next-transaction")
    try:
        yield ran
    finally:
        client.meta.events.unregister(OPERATION, unique_id="test-before-next-transaction")
