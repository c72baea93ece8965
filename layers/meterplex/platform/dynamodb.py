"""The low-level DynamoDB client the raw-botocore paths share (hot path, usage, counters, billing
reads), and the error codes they branch on. Endpoint and region come from the standard AWS_*
variables, so the same code talks to moto server or to AWS."""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELLED = "TransactionCanceledException"
MAX_TRANSACT_ITEMS = 100  # TransactWriteItems / TransactGetItems: at most this many items


@cache
def dynamodb_client() -> Any:
    """One low-level client per process. Requests are built by our code, never from user input
    shapes, and DynamoDB validates them again: botocore's client-side parameter validation is
    skipped (it was a third of the client's CPU per item of a batch write, measured)."""
    return botocore.session.get_session().create_client("dynamodb", config=Config(parameter_validation=False))


def error_code(error: Exception) -> str | None:
    """The DynamoDB error code of a botocore ClientError (None for anything else)."""
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
