"""Password policy and hashing: bcrypt (slow, salted). Hashes never leave the repository layer."""

from __future__ import annotations

import bcrypt

# bcrypt's cost factor: 2^12 rounds ≈ 0.25 s on a Lambda core. Tests lower it via MP_BCRYPT_ROUNDS.
DEFAULT_ROUNDS = 12
MIN_LENGTH, MAX_BYTES = 8, 72  # bcrypt reads at most 72 bytes: longer passwords would be truncated

_RULES = (
    (str.islower, "a lowercase letter"),
    (str.isupper, "an uppercase letter"),
    (str.isdigit, "a digit"),
)


def password_problem(password: str) -> str | None:
    """Why `password` breaks the policy (SPEC §1), or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password.encode()) > MAX_BYTES:
        return f"must be at most {MAX_BYTES} bytes"
    missing = [name for has, name in _RULES if not any(has(c) for c in password)]
    if missing:
        return "must contain " + ", ".join(missing)
    return None


def hash_password(password: str, rounds: int = DEFAULT_ROUNDS) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:MAX_BYTES], password_hash.encode())
    except ValueError:
        return False


# A hash to compare against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("Dummy-password-1", rounds=4)
    verify_password(password, _DUMMY_HASH)
