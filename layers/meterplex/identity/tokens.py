"""Access JWTs (pyjwt, HS256), and the random secrets we hand out but only ever store hashed:
refresh tokens, password-reset tokens and API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from meterplex.platform.auth import API_KEY_PREFIX
from meterplex.platform.errors import Unauthenticated
from meterplex.platform.ids import new_id

ALGORITHM = "HS256"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=7)
RESET_TTL = timedelta(minutes=15)
API_KEY_DISPLAY_CHARS = 12  # "mp_live_" + 4 characters of the secret
_REQUIRED_CLAIMS = ["sub", "email", "jti", "iat", "exp", "sv"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    email: str
    token_id: str
    session_version: int


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_access_token(
    *, user_id: str, email: str, session_version: int, now: datetime, signing_key: str
) -> str:
    claims = {
        "sub": user_id,
        "email": email,
        "jti": new_id(),
        "sv": session_version,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
    }
    return jwt.encode(claims, signing_key, algorithm=ALGORITHM)


def verify_access_token(token: str, *, signing_key: str, now: datetime) -> AccessClaims:
    """Claims of a valid token; `Unauthenticated` for anything else (tampered, expired, `alg: none`…)."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("Invalid access token", code="INVALID_TOKEN")
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            # exp/nbf are checked below against the injected clock, so tests can move time.
            options={
                "require": _REQUIRED_CLAIMS,
                "verify_iat": False,
                "verify_exp": False,
                "verify_nbf": False,
            },
        )
        if not int(claims.get("nbf", claims["iat"])) <= now.timestamp() < int(claims["exp"]):
            raise Unauthenticated("Access token expired or not yet valid", code="TOKEN_EXPIRED")
        return AccessClaims(str(claims["sub"]), str(claims["email"]), str(claims["jti"]), int(claims["sv"]))
    except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as error:
        raise Unauthenticated("Invalid access token", code="INVALID_TOKEN") from error


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def new_reset_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    """`mp_live_` + 32 random bytes, base64url (43 characters)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_display_prefix(key: str) -> str:
    return key[:API_KEY_DISPLAY_CHARS]
