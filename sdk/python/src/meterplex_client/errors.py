"""Typed errors that mirror the API's one error envelope.

Every error the server answers has the same body (`statusCode`, `error`, `code`, `message`,
`details`, `correlationId`, `timestamp`, `path`); `APIStatusError.from_response` turns it into the
exception class of its HTTP status family, with `code`, `correlation_id` and `details` on it, so
callers catch what they mean (`except QuotaExceededError`) and quote the correlation id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class MeterplexError(Exception):
    """Base of every error the SDK raises."""


class UsageBufferFull(MeterplexError):
    """The usage queue is full and the event could not be spilled to disk either."""


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class APIConnectionError(MeterplexError):
    """No answer from the API (connection refused or dropped, timeout) after the retries."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The API did not answer in time."""


class APIStatusError(MeterplexError):
    """The API answered with an error status; the fields are the envelope's."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        details: list[FieldError] | None = None,
        correlation_id: str | None = None,
        path: str | None = None,
        body: Any = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(
            f"{status_code} {code}: {message}" + (f" [{correlation_id}]" if correlation_id else "")
        )
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details or []
        self.correlation_id = correlation_id
        self.path = path
        self.body = body
        self.headers = headers or httpx.Headers()

    @classmethod
    def from_response(cls, response: httpx.Response) -> APIStatusError:
        try:
            body = response.json()
        except ValueError:
            body = None
        envelope = body if isinstance(body, dict) else {}
        code = str(envelope.get("code") or _FALLBACK_CODES.get(response.status_code, "HTTP_ERROR"))
        message = str(envelope.get("message") or response.reason_phrase or "error")
        details = [
            FieldError(str(d.get("field", "")), str(d.get("message", "")))
            for d in envelope.get("details") or []
            if isinstance(d, dict)
        ]
        correlation = envelope.get("correlationId") or response.headers.get("x-correlation-id")
        kind = error_class(response.status_code, code)
        kwargs: dict[str, Any] = {
            "status_code": response.status_code,
            "code": code,
            "details": details,
            "correlation_id": correlation,
            "path": envelope.get("path"),
            "body": body,
            "headers": response.headers,
        }
        if issubclass(kind, RateLimitError):
            kwargs["retry_after"] = retry_after_s(response.headers)
        return kind(message, **kwargs)


class BadRequestError(APIStatusError):
    """400: the request is invalid (`details` names the fields)."""


class AuthenticationError(APIStatusError):
    """401: no, or an invalid, expired or revoked credential."""


class PaymentRequiredError(APIStatusError):
    """402: the subscription is UNPAID."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed."""


class QuotaExceededError(PermissionDeniedError):
    """403 `QUOTA_EXCEEDED`: a HARD limit would be overshot; nothing was consumed."""


class NotFoundError(APIStatusError):
    """404 (also: another tenant's object)."""


class ConflictError(APIStatusError):
    """409: already exists, an invalid transition, or an idempotency key reused."""


class PayloadTooLargeError(APIStatusError):
    """413: the request body is too large."""


class RateLimitError(APIStatusError):
    """429: slow down; `retry_after` is the server's `Retry-After` in seconds (None if absent)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the API failed; retried before it is raised."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}
_BY_CODE: dict[str, type[APIStatusError]] = {"QUOTA_EXCEEDED": QuotaExceededError}
_FALLBACK_CODES = {502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


def error_class(status: int, code: str) -> type[APIStatusError]:
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIStatusError


def retry_after_s(headers: httpx.Headers) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
