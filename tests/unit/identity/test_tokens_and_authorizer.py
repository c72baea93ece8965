"""The authorizer's decisions on tokens and keys (pure: fake repository, fixed clock)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from meterplex.identity import tokens
from meterplex.identity.authorizer import Unauthorized, api_wide_resource, authorize, bearer_token
from meterplex.identity.models import ApiKey, Membership, Tenant, TenantStatus, User
from meterplex.identity.principals import authenticate as principal_for
from meterplex.identity.principals import recheck
from meterplex.identity.signing_key import jwt_signing_key
from meterplex.platform.auth import AuthType, Principal, Role
from meterplex.platform.clock import FixedClock
from meterplex.platform.errors import Unauthenticated

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeRepo:
    """The reads `identity.principals` makes, over dicts."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.memberships: list[Membership] = []
        self.keys: dict[str, ApiKey] = {}
        self.tenant_items: dict[str, Tenant] = {}

    def user_with_memberships(self, user_id: str, *, consistent: bool = False):  # type: ignore[no-untyped-def]
        return self.users.get(user_id), [m for m in self.memberships if m.user_id == user_id]

    def user_in_tenant(self, user_id: str, tenant_id: str):  # type: ignore[no-untyped-def]
        member = next((m for m in self.memberships if (m.user_id, m.tenant_id) == (user_id, tenant_id)), None)
        return self.users.get(user_id), member, self.tenant_items.get(tenant_id)

    def tenants(self, tenant_ids: list[str], *, consistent: bool = False) -> dict[str, Tenant]:
        return {t: self.tenant_items[t] for t in tenant_ids if t in self.tenant_items}

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenant_items.get(tenant_id)

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def api_key_with_tenant(self, key_hash: str, tenant_id: str):  # type: ignore[no-untyped-def]
        return self.keys.get(key_hash), self.tenant_items.get(tenant_id)


@pytest.fixture
def repo() -> FakeRepo:
    repo = FakeRepo()
    repo.users["u1"] = User("u1", "a@b.c", "hash", "A", "B", NOW, NOW, is_platform_admin=True)
    repo.memberships.append(Membership("t1", "u1", Role.ADMIN))
    repo.tenant_items["t1"] = Tenant("t1", "T1", "t-one", NOW, NOW)
    return repo


def access_token(at: datetime = NOW, session_version: int = 0, user_id: str = "u1") -> str:
    return tokens.issue_access_token(
        user_id=user_id, email="a@b.c", session_version=session_version, now=at, signing_key=jwt_signing_key()
    )


def test_valid_jwt_yields_the_user_with_memberships(repo: FakeRepo) -> None:
    principal = principal_for(access_token(), repo, FixedClock(NOW + timedelta(minutes=1)))  # type: ignore[arg-type]
    assert principal.auth_type is AuthType.JWT and principal.user_id == "u1"
    assert principal.memberships == {"t1": Role.ADMIN} and principal.is_platform_admin
    assert principal.tenant_statuses == {"t1": TenantStatus.ACTIVE} and principal.session_version == 0


def test_an_inactive_membership_grants_nothing(repo: FakeRepo) -> None:
    repo.memberships = [Membership("t1", "u1", Role.ADMIN, is_active=False)]
    principal = principal_for(access_token(), repo, FixedClock(NOW))  # type: ignore[arg-type]
    assert principal.memberships == {} and principal.tenant_statuses == {}


def test_a_suspended_tenant_stays_in_a_members_principal_with_its_status(repo: FakeRepo) -> None:
    repo.tenant_items["t1"].status = TenantStatus.SUSPENDED
    principal = principal_for(access_token(), repo, FixedClock(NOW))  # type: ignore[arg-type]
    assert principal.memberships == {"t1": Role.ADMIN}
    assert principal.tenant_statuses == {"t1": TenantStatus.SUSPENDED}


def test_expired_jwt_is_rejected(repo: FakeRepo) -> None:
    with pytest.raises(Unauthenticated):
        principal_for(access_token(), repo, FixedClock(NOW + timedelta(minutes=15)))  # type: ignore[arg-type]


def test_not_yet_valid_jwt_is_rejected(repo: FakeRepo) -> None:
    with pytest.raises(Unauthenticated):
        principal_for(access_token(at=NOW + timedelta(minutes=5)), repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_tampered_jwt_is_rejected(repo: FakeRepo) -> None:
    header, payload, signature = access_token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthenticated):
        principal_for(f"{header}.{forged}.{signature}", repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_alg_none_jwt_is_rejected(repo: FakeRepo) -> None:
    claims = {
        "sub": "u1",
        "email": "a@b.c",
        "jti": "j",
        "sv": 0,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        principal_for(unsigned, repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_jwt_signed_with_another_key_or_algorithm_is_rejected(repo: FakeRepo) -> None:
    claims = jwt.decode(access_token(), options={"verify_signature": False})
    with pytest.raises(Unauthenticated):
        principal_for(jwt.encode(claims, "x" * 48, algorithm="HS256"), repo, FixedClock(NOW))  # type: ignore[arg-type]
    with pytest.raises(Unauthenticated):
        principal_for(jwt.encode(claims, jwt_signing_key(), algorithm="HS512"), repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_jwt_of_a_revoked_session_or_inactive_user_is_rejected(repo: FakeRepo) -> None:
    repo.users["u1"].session_version = 1
    with pytest.raises(Unauthenticated):
        principal_for(access_token(session_version=0), repo, FixedClock(NOW))  # type: ignore[arg-type]
    repo.users["u1"].is_active = False
    with pytest.raises(Unauthenticated):
        principal_for(access_token(session_version=1), repo, FixedClock(NOW))  # type: ignore[arg-type]


def _key(repo: FakeRepo, **changes: object) -> str:
    secret = tokens.new_api_key()
    key = ApiKey("k1", "t1", "n", secret[:12], tokens.sha256_hex(secret), NOW, "user:u1")
    for name, value in changes.items():
        setattr(key, name, value)
    repo.keys[key.key_hash] = key
    return secret


def test_api_key_fixes_the_tenant(repo: FakeRepo) -> None:
    principal = principal_for(_key(repo), repo, FixedClock(NOW))  # type: ignore[arg-type]
    assert principal.auth_type is AuthType.API_KEY and principal.api_key_tenant_id == "t1"


@pytest.mark.parametrize("changes", [{"revoked_at": NOW}, {"expires_at": NOW}])
def test_revoked_or_expired_api_key_is_rejected(repo: FakeRepo, changes: dict) -> None:
    with pytest.raises(Unauthenticated):
        principal_for(_key(repo, **changes), repo, FixedClock(NOW))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [TenantStatus.SUSPENDED, TenantStatus.CANCELLED])
def test_api_key_of_a_suspended_or_cancelled_tenant_is_rejected(repo: FakeRepo, status: TenantStatus) -> None:
    secret = _key(repo)
    repo.tenant_items["t1"].status = status  # read from the tenant itself, however many keys it has
    with pytest.raises(Unauthenticated):
        principal_for(secret, repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_recheck_sees_a_revocation_the_cached_principal_does_not(repo: FakeRepo) -> None:
    cached = principal_for(access_token(), repo, FixedClock(NOW))  # type: ignore[arg-type]
    assert recheck(cached, "t1", repo, FixedClock(NOW)).rechecked  # type: ignore[arg-type]
    repo.users["u1"].session_version = 1  # revoke-all, password change...
    with pytest.raises(Unauthenticated):
        recheck(cached, "t1", repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_recheck_takes_the_current_role_and_drops_a_removed_membership(repo: FakeRepo) -> None:
    cached = principal_for(access_token(), repo, FixedClock(NOW))  # type: ignore[arg-type]
    repo.memberships = [Membership("t1", "u1", Role.DEVELOPER)]
    assert recheck(cached, "t1", repo, FixedClock(NOW)).memberships == {"t1": Role.DEVELOPER}  # type: ignore[arg-type]
    repo.memberships = []
    assert recheck(cached, None, repo, FixedClock(NOW)).memberships == {}  # type: ignore[arg-type]


def test_recheck_of_an_api_key_reads_the_key_and_its_tenant(repo: FakeRepo) -> None:
    secret = _key(repo)
    cached = principal_for(secret, repo, FixedClock(NOW))  # type: ignore[arg-type]
    repo.keys[tokens.sha256_hex(secret)].revoked_at = NOW
    with pytest.raises(Unauthenticated):
        recheck(cached, None, repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_unknown_api_key_is_rejected(repo: FakeRepo) -> None:
    with pytest.raises(Unauthenticated):
        principal_for(tokens.new_api_key(), repo, FixedClock(NOW))  # type: ignore[arg-type]


def test_authorize_raises_unauthorized_without_a_bearer_token(repo: FakeRepo) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"authorization": "Bearer "}):
        with pytest.raises(Unauthorized) as raised:
            authorize({"headers": headers, "methodArn": "arn"}, repo)  # type: ignore[arg-type]
        assert str(raised.value) == "Unauthorized"


def test_authorize_allows_the_whole_api_and_round_trips_the_principal(repo: FakeRepo) -> None:
    event = {
        "headers": {"Authorization": f"Bearer {access_token()}"},
        "methodArn": "arn:aws:execute-api:us-east-1:123:api1/prod/GET/api/v1/auth/me",
    }
    policy = authorize(event, repo, FixedClock(NOW))  # type: ignore[arg-type]
    statement = policy["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123:api1/prod/*/*"
    assert Principal.from_context(policy["context"]).memberships == {"t1": Role.ADMIN}
    assert all(isinstance(v, str) for v in policy["context"].values())


def test_bearer_token_and_resource_helpers() -> None:
    assert bearer_token({"AUTHORIZATION": "bearer abc"}) == "abc"
    assert api_wide_resource("arn:x:api/stage") == "arn:x:api/stage/*/*"
