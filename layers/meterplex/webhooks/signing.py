"""Standard Webhooks signatures (SPEC §8.3, ADR 0080), pure.

A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is those bytes. Each attempt is
signed `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`; during a rotation's overlap the
`webhook-signature` header carries one signature per valid secret, space-separated, newest first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
VERSION = "v1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_of(secret: str) -> bytes:
    """The HMAC key a `whsec_` secret stands for; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook signing secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)


def signature(key: bytes, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(keys: Sequence[bytes], message_id: str, timestamp: int, body: str) -> str:
    return " ".join(signature(key, message_id, timestamp, body) for key in keys)


def webhook_headers(keys: Sequence[bytes], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The headers of one attempt (plus `content-type`)."""
    if not keys:
        raise ValueError("a delivery is signed with at least one secret")
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(keys, message_id, timestamp, body),
    }
