"""Password policy, the KDF, and the redaction of secrets from audit events."""

from __future__ import annotations

import pytest

from meterplex.identity.passwords import hash_password, password_problem, verify_password
from meterplex.platform.audit import REDACTED, redact


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("DevPass123", True),
        ("short1A", False),
        ("nouppercase1", False),
        ("NOLOWER123", False),
        ("NoDigitsHere", False),
        ("Aa1" + "x" * 69, True),
        ("Aa1" + "x" * 70, False),
        ("Ünïcødé12345", True),
    ],
)
def test_password_policy(password: str, ok: bool) -> None:
    assert (password_problem(password) is None) is ok


def test_hash_is_salted_bcrypt_and_verifies() -> None:
    first, second = hash_password("DevPass123", rounds=4), hash_password("DevPass123", rounds=4)
    assert first != second and first.startswith("$2")
    assert verify_password("DevPass123", first) and not verify_password("DevPass124", first)
    assert not verify_password("DevPass123", "not-a-hash")


def test_redact_hides_secret_fields_recursively() -> None:
    clean = redact(
        {"password": "p", "name": "n", "nested": {"refreshToken": "t", "apiKey": "k", "role": "r"}}
    )
    assert clean == {
        "password": REDACTED,
        "name": "n",
        "nested": {"refreshToken": REDACTED, "apiKey": REDACTED, "role": "r"},
    }
