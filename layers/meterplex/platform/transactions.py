"""PynamoDB transactions that read DynamoDB's refusals exactly (see `platform.dynamodb_errors`).

* `Transaction`: a `TransactWrite` whose commit resends itself on conflicts and throttling, then
  answers 503 (`Unavailable`); every repository builds its transactions with it.
* `failed_keys(tx, error)`: the (pk, sk) of the items whose condition failed — and only those: a
  conflicting item is not a failed condition.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from meterplex.platform.dynamodb_errors import (
    CONDITION_FAILED,
    condition_failed,
    reason_codes,
    retrying,
    transient,
)

__all__ = [
    "Transaction",
    "condition_failed",
    "failed_items",
    "failed_keys",
    "retrying",
    "transaction",
    "transient",
]


class Transaction(TransactWrite):
    """A `TransactWrite` that resends itself on conflicts and throttling (see `retrying`)."""

    def _commit(self) -> Any:
        return retrying(super()._commit)


def transaction(connection: Any) -> Transaction:
    return Transaction(connection=connection)


def _key_of(operation: dict[str, Any]) -> tuple[str, str]:
    item = operation.get("Key") or operation.get("Item") or {}
    return item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")


def failed_items(tx: TransactWrite, error: TransactWriteError) -> dict[tuple[str, str], dict[str, Any]]:
    """(pk, sk) of every item whose condition failed → the item as it was (DynamoDB JSON; empty
    unless the operation asked for `return_values=ALL_OLD`, or when the item did not exist).

    DynamoDB reports cancellation reasons by position, and PynamoDB sends a transaction's items
    grouped by kind (condition checks, deletes, puts, updates), not in the order they were added;
    so positions are mapped back to item keys here, once, instead of being counted by hand. Only a
    `ConditionalCheckFailed` reason counts: a conflicting item is not a failed condition.
    """
    ordered = [
        *tx._condition_check_items,
        *tx._delete_items,
        *tx._put_items,
        *tx._update_items,
    ]
    reasons = error.cancellation_reasons or []
    return {
        _key_of(operation): (reason.raw_item if reason is not None else None) or {}
        for operation, code, reason in zip(ordered, reason_codes(error), reasons, strict=False)
        if code == CONDITION_FAILED
    }


def failed_keys(tx: TransactWrite, error: TransactWriteError) -> set[tuple[str, str]]:
    """(pk, sk) of every item whose condition failed."""
    return set(failed_items(tx, error))
