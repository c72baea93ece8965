"""Domain errors and the one JSON error envelope (SPEC §0).

Domain code raises `MeterplexError` subclasses; only the resolver factory (`platform.api`), the
authorizer's gateway and the local gateway turn them into HTTP responses, via `envelope()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from http import HTTPStatus
from typing import Any


class ErrorKind(Enum):
    """What went wrong, from the caller's point of view; each kind has one HTTP status."""

    INVALID = HTTPStatus.BAD_REQUEST
    UNAUTHENTICATED = HTTPStatus.UNAUTHORIZED
    PAYMENT_REQUIRED = HTTPStatus.PAYMENT_REQUIRED
    FORBIDDEN = HTTPStatus.FORBIDDEN
    NOT_FOUND = HTTPStatus.NOT_FOUND
    CONFLICT = HTTPStatus.CONFLICT
    PAYLOAD_TOO_LARGE = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    UNSUPPORTED_MEDIA_TYPE = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    RATE_LIMITED = HTTPStatus.TOO_MANY_REQUESTS
    INTERNAL = HTTPStatus.INTERNAL_SERVER_ERROR
    UNAVAILABLE = HTTPStatus.SERVICE_UNAVAILABLE


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class MeterplexError(Exception):
    """Base of every error a caller may see. `code` is stable and machine-readable."""

    kind: ErrorKind = ErrorKind.INVALID
    default_code: str = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}  # more top-level envelope fields, e.g. the existing `invoiceId` of a 409


class InvalidInput(MeterplexError):
    kind = ErrorKind.INVALID
    default_code = "VALIDATION_FAILED"


class Unauthenticated(MeterplexError):
    kind = ErrorKind.UNAUTHENTICATED
    default_code = "UNAUTHORIZED"


class PaymentRequired(MeterplexError):
    """The tenant's payments are exhausted (UNPAID, SPEC §8.2): usage is blocked until it pays."""

    kind = ErrorKind.PAYMENT_REQUIRED
    default_code = "PAYMENT_REQUIRED"


class Forbidden(MeterplexError):
    kind = ErrorKind.FORBIDDEN
    default_code = "FORBIDDEN"


class NotFound(MeterplexError):
    kind = ErrorKind.NOT_FOUND
    default_code = "NOT_FOUND"


class Conflict(MeterplexError):
    kind = ErrorKind.CONFLICT
    default_code = "CONFLICT"


class PayloadTooLarge(MeterplexError):
    kind = ErrorKind.PAYLOAD_TOO_LARGE
    default_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(MeterplexError):
    kind = ErrorKind.UNSUPPORTED_MEDIA_TYPE
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class RetryLater(MeterplexError):
    """An error the caller may retry after `Retry-After` seconds."""

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(max(1, retry_after_s))})
        self.retry_after_s = retry_after_s


class RateLimited(RetryLater):
    kind = ErrorKind.RATE_LIMITED
    default_code = "RATE_LIMITED"


class Unavailable(RetryLater):
    """A dependency is busy (e.g. DynamoDB conflicts or throttling after our retries): 503 with
    `Retry-After`, so the caller sends the same request again later. Nothing was written."""

    kind = ErrorKind.UNAVAILABLE
    default_code = "SERVICE_UNAVAILABLE"


def envelope(
    status: int,
    code: str,
    message: str,
    *,
    correlation_id: str,
    path: str,
    timestamp: datetime,
    details: list[FieldError] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The error body every layer answers with (`extra`: fields an error adds, never the standard ones)."""
    from meterplex.platform.clock import iso

    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "code": code,
        "message": message,
        "correlationId": correlation_id,
        "timestamp": iso(timestamp),
        "path": path,
    }
    if details:
        body["details"] = [d.as_dict() for d in details]
    for name, value in (extra or {}).items():
        body.setdefault(name, value)
    return body
