"""Meterplex for Python: entitlement checks, usage tracking that never drops an event, invoices.

from meterplex_client import Meterplex

mp = Meterplex(api_key="mp_live_…")  # base URL: MP_BASE_URL (default http://127.0.0.1:3000)
if mp.entitlements.check("sso").allowed:
    ...
mp.usage.track("api_calls", 1)
"""

__version__ = "0.1.0"

from meterplex_client.cache import EntitlementCache
from meterplex_client.client import AsyncMeterplex, Meterplex
from meterplex_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MeterplexError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UsageBufferFull,
)
from meterplex_client.transport import RetryPolicy
from meterplex_client.usage.tracker import UsageOptions, UsageStats

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncMeterplex",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EntitlementCache",
    "Meterplex",
    "MeterplexError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "QuotaExceededError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "UsageBufferFull",
    "UsageOptions",
    "UsageStats",
    "__version__",
]
