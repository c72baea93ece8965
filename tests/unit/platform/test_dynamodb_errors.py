"""DynamoDB refusals read one reason at a time: only ConditionalCheckFailed is a failed condition."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from meterplex.platform.dynamodb_errors import condition_failed, reason_codes, retrying, transient
from meterplex.platform.errors import Unavailable


def cancelled_client_error(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


def cancelled_pynamodb_error(*codes: str) -> TransactWriteError:
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        {},
        cancellation_reasons=[CancellationReason(code=c) if c != "None" else None for c in codes],
    )
    return TransactWriteError("Failed to write transaction items", cause)


def single_write_error(code: str) -> PutError:
    return PutError("Failed to put item", VerboseClientError({"Error": {"Code": code}}, "PutItem", {}))


@pytest.mark.parametrize("make", [cancelled_client_error, cancelled_pynamodb_error])
def test_a_transaction_cancelled_by_a_conflict_is_transient_not_a_failed_condition(make: Any) -> None:
    error = make("None", "TransactionConflict", "None")
    assert reason_codes(error) == ["None", "TransactionConflict", "None"]
    assert not condition_failed(error)
    assert transient(error)


@pytest.mark.parametrize("make", [cancelled_client_error, cancelled_pynamodb_error])
def test_a_failed_condition_wins_over_a_conflict_in_the_same_transaction(make: Any) -> None:
    error = make("ConditionalCheckFailed", "TransactionConflict")
    assert condition_failed(error)
    assert not transient(error)


@pytest.mark.parametrize("make", [cancelled_client_error, cancelled_pynamodb_error])
def test_throttling_reasons_are_transient(make: Any) -> None:
    assert transient(make("ThrottlingError", "None"))
    assert transient(make("None", "ProvisionedThroughputExceeded"))


def test_a_validation_error_reason_is_neither() -> None:
    error = cancelled_pynamodb_error("ValidationError")
    assert not condition_failed(error) and not transient(error)


def test_single_writes_condition_failed_and_conflict() -> None:
    assert condition_failed(single_write_error("ConditionalCheckFailedException"))
    conflict = single_write_error("TransactionConflictException")
    assert not condition_failed(conflict) and transient(conflict)
    assert not transient(RuntimeError("no DynamoDB here"))


def test_retrying_resends_transient_failures_then_succeeds() -> None:
    failures = [cancelled_client_error("TransactionConflict"), single_write_error("ThrottlingException")]
    slept: list[float] = []

    def operation() -> str:
        if failures:
            raise failures.pop(0)
        return "written"

    assert retrying(operation, sleep=slept.append) == "written"
    assert len(slept) == 2


def test_retrying_gives_up_with_503_and_retry_after() -> None:
    def always_conflicting() -> None:
        raise cancelled_client_error("TransactionConflict")

    with pytest.raises(Unavailable) as raised:
        retrying(always_conflicting, attempts=3, sleep=lambda _: None)
    assert raised.value.kind.value == 503 and raised.value.headers["Retry-After"] == "1"


def test_retrying_never_resends_a_failed_condition() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise cancelled_pynamodb_error("ConditionalCheckFailed")

    with pytest.raises(TransactWriteError):
        retrying(refused, sleep=lambda _: None)
    assert calls == [1]
