"""The API Gateway REQUEST authorizer: an access JWT or an API key → an IAM policy + principal.

One read either way: a JWT costs one Query (profile + memberships), an API key one GetItem. The
policy allows the whole API (`*/*`) because API Gateway caches it per Authorization header; what a
principal may do per route is decided by the handlers. Failures raise `Unauthorized`, which API
Gateway turns into a 401.
"""

from __future__ import annotations

from typing import Any

from meterplex.identity import tokens
from meterplex.identity.repository import IdentityRepository
from meterplex.identity.signing_key import jwt_signing_key
from meterplex.platform.auth import API_KEY_PREFIX, AuthType, Principal
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.errors import Unauthenticated

UNAUTHORIZED = "Unauthorized"  # the exact message API Gateway maps to 401


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


def bearer_token(headers: dict[str, str] | None) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value:
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def principal_for(token: str, repo: IdentityRepository, clock: Clock) -> Principal:
    """Who `token` proves the caller to be; `Unauthenticated` if it proves nothing."""
    now = clock.now()
    if token.startswith(API_KEY_PREFIX):
        key = repo.api_key_by_hash(tokens.sha256_hex(token))
        if key is None or not key.usable_at(now):
            raise Unauthenticated("Invalid, revoked or expired API key", code="INVALID_API_KEY")
        return Principal(AuthType.API_KEY, api_key_tenant_id=key.tenant_id, api_key_id=key.id)
    claims = tokens.verify_access_token(token, signing_key=jwt_signing_key(), now=now)
    user, memberships = repo.user_with_memberships(claims.user_id)
    if user is None or not user.is_active or user.session_version != claims.session_version:
        raise Unauthenticated("Session revoked", code="SESSION_REVOKED")
    return Principal(
        AuthType.JWT,
        user_id=user.id,
        email=user.email,
        is_platform_admin=user.is_platform_admin,
        memberships={m.tenant_id: m.role for m in memberships},
        token_id=claims.token_id,
    )


def api_wide_resource(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api/stage/VERB/path → arn:…:api/stage/*/*"""
    base, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0] if rest else "*"
    return f"{base}/{stage}/*/*"


def authorize(event: dict[str, Any], repo: IdentityRepository, clock: Clock = system_clock) -> dict[str, Any]:
    token = bearer_token(event.get("headers"))
    if token is None:
        raise Unauthorized()
    try:
        principal = principal_for(token, repo, clock)
    except Unauthenticated as error:
        raise Unauthorized() from error
    return {
        "principalId": principal.user_id or f"apikey:{principal.api_key_id}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": api_wide_resource(str(event.get("methodArn", "*"))),
                }
            ],
        },
        "context": principal.to_context(),
    }
