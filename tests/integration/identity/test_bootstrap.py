"""Finding 9: the admin bootstrap never promotes an existing account without the explicit flag,
and says what it did."""

from __future__ import annotations

import pytest

from meterplex.identity import bootstrap
from meterplex.identity.repository import IdentityRepository
from meterplex.platform.errors import Conflict
from tests.integration.identity.conftest import PASSWORD, Account, register, unique
from tests.support.api_client import ApiClient


def is_platform_admin(user_id: str) -> bool:
    user = IdentityRepository().get_user(user_id)
    assert user is not None
    return user.is_platform_admin


def test_bootstrap_refuses_to_promote_an_existing_account_without_the_flag(account: Account) -> None:
    # GIVEN someone registered the configured admin email before the bootstrap ran
    # WHEN the bootstrap runs without the explicit flag
    with pytest.raises(Conflict, match="--promote-existing"):
        bootstrap.ensure_platform_admin(account.email, "Other-admin-pw1")
    # THEN the account is not a platform admin, and its password is untouched
    assert not is_platform_admin(account.user_id)
    assert (
        ApiClient().post("/api/v1/auth/login", {"email": account.email, "password": PASSWORD}).status == 200
    )


def test_bootstrap_promotes_an_existing_account_only_with_the_flag_and_says_so(account: Account) -> None:
    ensured = bootstrap.ensure_platform_admin(account.email, "ignored", promote_existing=True)
    assert ensured.outcome is bootstrap.Outcome.PROMOTED and ensured.user_id == account.user_id
    assert is_platform_admin(account.user_id)
    assert "promoted the existing account" in bootstrap.report(account.email, ensured)
    again = bootstrap.ensure_platform_admin(account.email, "ignored")  # idempotent, no flag needed
    assert again.outcome is bootstrap.Outcome.UNCHANGED


def test_bootstrap_creates_a_new_admin(moto_endpoint: str) -> None:
    email = f"{unique('admin')}@example.com"
    ensured = bootstrap.ensure_platform_admin(email, "Admin12345!")
    assert ensured.outcome is bootstrap.Outcome.CREATED and is_platform_admin(ensured.user_id)
    login = ApiClient().post("/api/v1/auth/login", {"email": email, "password": "Admin12345!"})
    assert login.status == 200 and login.body["user"]["isPlatformAdmin"] is True


def test_cli_reports_each_outcome_and_exits_1_on_refusal(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_ADMIN_PASSWORD", "Admin12345!")
    monkeypatch.delenv(bootstrap.PROMOTE_EXISTING_ENV, raising=False)
    member = register()
    assert bootstrap.main(["--email", member.email]) == 1
    assert "not promoted without --promote-existing" in capsys.readouterr().err
    assert bootstrap.main(["--email", member.email, "--promote-existing"]) == 0
    assert "promoted the existing account" in capsys.readouterr().out
    monkeypatch.setenv(bootstrap.PROMOTE_EXISTING_ENV, "true")
    fresh = f"{unique('cli')}@example.com"
    assert bootstrap.main(["--email", fresh]) == 0
    assert f"created platform admin {fresh}" in capsys.readouterr().out
