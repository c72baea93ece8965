"""/api/v1/auth — every route: success, validation, 401, 409; tokens and sessions."""

from __future__ import annotations

import pytest

from tests.integration.identity.conftest import PASSWORD, Account, register, registration
from tests.support.api_client import ApiClient

AUTH = "/api/v1/auth"


def test_register_creates_user_tenant_and_owner_membership(moto_endpoint: str) -> None:
    client = ApiClient()
    body = registration(email="Mixed.Case@Example.com")
    reply = client.post(f"{AUTH}/register", body)
    assert reply.status == 201
    assert reply.body["user"]["email"] == "mixed.case@example.com"  # stored lowercase
    assert reply.body["tenant"]["slug"] == body["tenantSlug"]
    assert "passwordHash" not in reply.body["user"] and "password" not in reply.body["user"]
    tenants = client.get("/api/v1/tenants", token=reply.body["accessToken"])
    assert [(t["id"], t["role"]) for t in tenants.body["data"]] == [(reply.body["tenant"]["id"], "OWNER")]


def test_register_with_invalid_fields_answers_400_with_details(moto_endpoint: str) -> None:
    reply = ApiClient().post(
        f"{AUTH}/register", registration(email="nope", tenantSlug="Bad Slug", firstName="") | {"extra": 1}
    )
    assert reply.status == 400 and reply.code == "VALIDATION_FAILED"
    assert {"email", "tenantSlug", "firstName", "extra"} <= reply.fields()


def test_register_with_weak_password_answers_400_naming_the_field(moto_endpoint: str) -> None:
    reply = ApiClient().post(f"{AUTH}/register", registration(password="alllowercase1"))
    assert reply.status == 400
    assert reply.fields() == {"password"}


def test_register_with_taken_email_or_slug_answers_409(account: Account) -> None:
    again = ApiClient().post(f"{AUTH}/register", registration(email=account.email.upper()))
    assert again.status == 409 and again.code == "EMAIL_TAKEN"
    slug = account.get(f"/api/v1/tenants/{account.tenant_id}").body["slug"]
    taken = ApiClient().post(f"{AUTH}/register", registration(tenantSlug=slug))
    assert taken.status == 409 and taken.code == "SLUG_TAKEN"


def test_login_succeeds_and_wrong_password_or_unknown_email_get_the_same_401(account: Account) -> None:
    client = ApiClient()
    ok = client.post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD})
    assert ok.status == 200 and ok.body["user"]["id"] == account.user_id and ok.body["accessToken"]
    wrong = client.post(f"{AUTH}/login", {"email": account.email, "password": "Wrong1234"})
    unknown = client.post(f"{AUTH}/login", {"email": "nobody@example.com", "password": "Wrong1234"})
    assert wrong.status == unknown.status == 401
    assert wrong.body["message"] == unknown.body["message"]


def test_login_of_a_disabled_user_answers_401(account: Account, platform_admin: Account) -> None:
    off = platform_admin.patch(f"/api/v1/admin/users/{account.user_id}", {"isActive": False})
    assert off.status == 200 and off.body["isActive"] is False
    login = ApiClient().post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD})
    assert login.status == 401 and login.code == "INVALID_CREDENTIALS"


def test_me_returns_the_current_user_and_needs_a_token(account: Account) -> None:
    assert account.get(f"{AUTH}/me").body["id"] == account.user_id
    anonymous = ApiClient().get(f"{AUTH}/me")
    assert anonymous.status == 401 and anonymous.code == "UNAUTHORIZED"


def test_refresh_rotates_the_token(account: Account) -> None:
    reply = account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh})
    assert reply.status == 200
    assert reply.body["refreshToken"] != account.refresh
    assert account.client.get(f"{AUTH}/me", token=reply.body["accessToken"]).status == 200


def test_refresh_with_unknown_token_answers_401_not_500(moto_endpoint: str) -> None:
    reply = ApiClient().post(f"{AUTH}/refresh", {"refreshToken": "not-a-real-token"})
    assert reply.status == 401 and reply.code == "INVALID_REFRESH_TOKEN"


def test_refresh_token_reuse_revokes_every_session(account: Account) -> None:
    # GIVEN a second session and a rotated first one
    second = account.client.post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD}).body
    assert account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh}).status == 200
    # WHEN the already-rotated refresh token is presented again
    reuse = account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh})
    # THEN it is refused and every session of the user is dead, access and refresh tokens alike
    assert reuse.status == 401 and reuse.code == "REFRESH_TOKEN_REUSED"
    assert account.get(f"{AUTH}/me").status == 401
    assert account.client.get(f"{AUTH}/me", token=second["accessToken"]).status == 401
    assert account.client.post(f"{AUTH}/refresh", {"refreshToken": second["refreshToken"]}).status == 401


def test_change_password_revokes_other_sessions_and_returns_a_new_pair(account: Account) -> None:
    other = account.client.post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD}).body
    reply = account.post(
        f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": "NewPass456"}
    )
    assert reply.status == 200
    assert account.client.get(f"{AUTH}/me", token=other["accessToken"]).status == 401
    assert account.client.post(f"{AUTH}/refresh", {"refreshToken": other["refreshToken"]}).status == 401
    assert account.client.get(f"{AUTH}/me", token=reply.body["accessToken"]).status == 200
    relogin = account.client.post(f"{AUTH}/login", {"email": account.email, "password": "NewPass456"})
    assert relogin.status == 200


def test_change_password_with_wrong_current_password_answers_401(account: Account) -> None:
    reply = account.post(
        f"{AUTH}/change-password", {"currentPassword": "Wrong1234", "newPassword": "NewPass456"}
    )
    assert reply.status == 401


def test_change_password_to_a_weak_one_answers_400(account: Account) -> None:
    reply = account.post(f"{AUTH}/change-password", {"currentPassword": PASSWORD, "newPassword": "weak"})
    assert reply.status == 400 and reply.fields() == {"newPassword"}


def test_logout_revokes_that_refresh_token(account: Account) -> None:
    assert account.post(f"{AUTH}/logout", {"refreshToken": account.refresh}).status == 200
    assert account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh}).status == 401


def test_revoke_all_kills_every_session(account: Account) -> None:
    assert account.post(f"{AUTH}/revoke-all").status == 200
    assert account.get(f"{AUTH}/me").status == 401
    assert account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh}).status == 401


def test_forgot_password_answers_the_same_for_known_and_unknown_emails(account: Account) -> None:
    known = ApiClient().post(f"{AUTH}/forgot-password", {"email": account.email})
    unknown = ApiClient().post(f"{AUTH}/forgot-password", {"email": "ghost@example.com"})
    assert known.status == unknown.status == 200
    assert known.body == unknown.body
    assert "token" not in str(known.body).lower()


def test_reset_password_with_an_invalid_token_answers_401(moto_endpoint: str) -> None:
    reply = ApiClient().post(f"{AUTH}/reset-password", {"token": "bogus", "newPassword": "NewPass456"})
    assert reply.status == 401 and reply.code == "INVALID_RESET_TOKEN"


@pytest.mark.usefixtures("one_rate_window")
def test_login_rate_limit_per_email_answers_429_with_retry_after(moto_endpoint: str) -> None:
    account = register()
    for _ in range(5):
        client = ApiClient()  # a different IP each time: only the per-email limit applies
        assert client.post(f"{AUTH}/login", {"email": account.email, "password": "Wrong1234"}).status == 401
    blocked = ApiClient().post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD})
    assert blocked.status == 429 and blocked.code == "RATE_LIMITED"
    assert int(blocked.headers["retry-after"]) > 0


@pytest.mark.usefixtures("one_rate_window")
def test_login_rate_limit_per_ip_answers_429(account: Account) -> None:
    client = ApiClient()
    statuses = [
        client.post(f"{AUTH}/login", {"email": f"x{i}@example.com", "password": "Wrong1234"}).status
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


@pytest.mark.usefixtures("one_rate_window")
def test_register_rate_limit_per_ip_answers_429(moto_endpoint: str) -> None:
    client = ApiClient()
    statuses = [client.post(f"{AUTH}/register", registration()).status for _ in range(6)]
    assert statuses == [201] * 5 + [429]
