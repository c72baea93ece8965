"""Reading DynamoDB's refusals exactly: which writes failed their condition, which were only busy.

A cancelled transaction (`TransactionCanceledException`) carries one reason per item. Only
`ConditionalCheckFailed` means "the state is not what the write required" — a domain answer (a
taken email, a reused refresh token, a lost race). `TransactionConflict` (another transaction or
write touched the item meanwhile) and throttling mean nothing about the state: the same request may
simply be sent again. Reading every cancellation as a failed condition turned a conflict into
"refresh token reuse" (all sessions revoked) or a false 409; so the reasons are read one by one
here, once, for the whole platform:

* `condition_failed(error)`: True only when a condition really failed (a single write's
  `ConditionalCheckFailedException`, or a transaction with at least one `ConditionalCheckFailed`).
* `transient(error)`: a conflict or throttling and no failed condition — retry the same request.
* `retrying(operation)`: runs it, retrying transient failures with jittered exponential backoff,
  then gives up with `Unavailable` (503 + `Retry-After`).

It reads PynamoDB's exceptions (`PutError`, `UpdateError`, `TransactWriteError`, … wrapping a
botocore `ClientError`) and botocore's `ClientError` itself (the raw-botocore hot path), and imports
neither, so the hot path pays nothing for it. PynamoDB transactions: `platform.transactions`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from meterplex.platform.errors import Unavailable

T = TypeVar("T")

CONDITION_FAILED = "ConditionalCheckFailed"
CANCELLED = "TransactionCanceledException"
# Per-item cancellation reasons that say "busy", not "refused" (DynamoDB TransactWriteItems docs).
TRANSIENT_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
# Error codes of a single request that say the same. botocore already retries throttling a few
# times on its own; a conflict with a running transaction it does not retry at all.
TRANSIENT_ERRORS = frozenset(
    {
        "TransactionConflictException",
        "TransactionInProgressException",
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)
MAX_ATTEMPTS = 5
BASE_DELAY_S = 0.025
RETRY_AFTER_S = 1


def _client_error(error: BaseException) -> Any:
    """The botocore ClientError behind `error` (PynamoDB wraps it as `cause`), or None."""
    if hasattr(error, "response") and isinstance(error.response, dict):
        return error
    cause = getattr(error, "cause", None)
    return cause if cause is not None and isinstance(getattr(cause, "response", None), dict) else None


def error_code(error: BaseException) -> str | None:
    client_error = _client_error(error)
    if client_error is None:
        return None
    return client_error.response.get("Error", {}).get("Code")


def reason_codes(error: BaseException) -> list[str]:
    """One code per item of a cancelled transaction, in request order ("None" for items that were
    fine); empty for anything else."""
    if error_code(error) != CANCELLED:
        return []
    reasons = getattr(error, "cancellation_reasons", None)
    if reasons is None:  # botocore ClientError: the raw response
        raw = _client_error(error).response.get("CancellationReasons") or []
        return [str(r.get("Code") or "None") for r in raw]
    return [r.code if r is not None else "None" for r in reasons]


def condition_failed(error: BaseException) -> bool:
    """Did the write fail because its condition (or one of a transaction's) did not hold?"""
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return True
    return code == CANCELLED and CONDITION_FAILED in reason_codes(error)


def transient(error: BaseException) -> bool:
    """A conflict or throttling, and no failed condition: the same request may be sent again."""
    code = error_code(error)
    if code in TRANSIENT_ERRORS:
        return True
    if code != CANCELLED:
        return False
    codes = set(reason_codes(error))
    return CONDITION_FAILED not in codes and bool(codes & TRANSIENT_REASONS)


def retrying(
    operation: Callable[[], T],
    *,
    attempts: int = MAX_ATTEMPTS,
    base_delay_s: float = BASE_DELAY_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`operation()`, sent again after each transient failure (backoff with full jitter); after
    `attempts` tries, `Unavailable` — never a failed condition that did not happen."""
    for attempt in range(attempts):
        try:
            return operation()
        except Exception as error:
            if not transient(error):
                raise
            if attempt == attempts - 1:
                raise Unavailable(
                    "The database is busy; retry the request", retry_after_s=RETRY_AFTER_S
                ) from error
            sleep(random.uniform(0, base_delay_s * 2**attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable")
