"""The API Gateway REQUEST authorizer: an access JWT or an API key → an IAM policy + principal.

Who the token proves the caller to be is decided by `identity.principals.authenticate` (a JWT: one
Query + one BatchGetItem of its tenants' statuses; an API key: the key, then its tenant). The policy
allows the whole API (`*/*`) because API Gateway caches it per Authorization header for
`MP_AUTHORIZER_CACHE_TTL` seconds; what a principal may do per route is decided by the handlers,
which re-check it against the current state for writes (ADR 0031). Failures raise `Unauthorized`,
which API Gateway turns into a 401.
"""

from __future__ import annotations

from typing import Any

from meterplex.identity.principals import authenticate
from meterplex.identity.repository import IdentityRepository
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
        principal = authenticate(token, repo, clock)
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
