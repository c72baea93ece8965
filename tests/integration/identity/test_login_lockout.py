"""Finding 6: the per-email login lockout (5 failures / 15 min) is exact under concurrency — the
attempt is reserved with a conditional write before the password hash is checked."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.integration.identity.conftest import PASSWORD, Account
from tests.support.api_client import ApiClient, runner
from tests.support.environments import in_parallel_environments

AUTH = "/api/v1/auth"
pytestmark = pytest.mark.usefixtures("one_rate_window")

ATTEMPTS, CLIENT_IPS = 100, 10  # the per-IP limit is 10/min: 10 IPs × 10 attempts fit under it


def wrong_password_login(email: str, source_ip: str) -> tuple[int, str | None]:
    reply = ApiClient(source_ip=source_ip).post(f"{AUTH}/login", {"email": email, "password": "Wrong1234"})
    return reply.status, reply.code


def test_100_parallel_wrong_logins_from_10_ips_get_exactly_5_401_and_95_429(account: Account) -> None:
    # GIVEN the login function loaded once, so each forked environment starts warm
    runner().load("identity_api")
    ips = [f"10.77.{i % CLIENT_IPS}.{i % CLIENT_IPS + 1}" for i in range(ATTEMPTS)]
    # WHEN 100 environments send a wrong password for one email at the same moment
    outcomes = in_parallel_environments(wrong_password_login, [(account.email, ip) for ip in ips])
    # THEN exactly the budget of 5 reached the password check; every other attempt was refused
    assert Counter(outcomes) == {(401, "INVALID_CREDENTIALS"): 5, (429, "RATE_LIMITED"): 95}
    # and the right password is refused too until the window ends (the account is locked, not cracked)
    locked = ApiClient().post(f"{AUTH}/login", {"email": account.email, "password": PASSWORD})
    assert locked.status == 429 and int(locked.headers["retry-after"]) > 0


def login(email: str, password: str) -> int:
    return ApiClient().post(f"{AUTH}/login", {"email": email, "password": password}).status


def test_a_successful_login_gives_its_reserved_attempt_back(account: Account) -> None:
    assert [login(account.email, "Wrong1234") for _ in range(4)] == [401] * 4
    # successes do not use up the budget of failures
    assert [login(account.email, PASSWORD) for _ in range(3)] == [200] * 3
    assert login(account.email, "Wrong1234") == 401
    assert login(account.email, PASSWORD) == 429
