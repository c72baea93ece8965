"""Which items of a PynamoDB `TransactWrite` failed their condition.

DynamoDB reports cancellation reasons by position, and PynamoDB sends a transaction's items grouped
by kind (condition checks, deletes, puts, updates), not in the order they were added; so positions
are mapped back to item keys here, once, instead of being counted by hand in every repository.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

CONDITION_FAILED = "ConditionalCheckFailed"


def _key_of(operation: dict[str, Any]) -> tuple[str, str]:
    item = operation.get("Key") or operation.get("Item") or {}
    return item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", "")


def failed_items(tx: TransactWrite, error: TransactWriteError) -> dict[tuple[str, str], dict[str, Any]]:
    """(pk, sk) of every item whose condition failed → the item as it was (DynamoDB JSON; empty
    unless the operation asked for `return_values=ALL_OLD`, or when the item did not exist)."""
    ordered = [
        *tx._condition_check_items,
        *tx._delete_items,
        *tx._put_items,
        *tx._update_items,
    ]
    reasons = error.cancellation_reasons or []
    return {
        _key_of(operation): reason.raw_item or {}
        for operation, reason in zip(ordered, reasons, strict=False)
        if reason is not None and reason.code == CONDITION_FAILED
    }


def failed_keys(tx: TransactWrite, error: TransactWriteError) -> set[tuple[str, str]]:
    """(pk, sk) of every item whose condition failed."""
    return set(failed_items(tx, error))
