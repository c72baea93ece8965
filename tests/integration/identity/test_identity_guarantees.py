"""Identity guarantees that need real DynamoDB: races, secrets kept out of logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.identity.conftest import registration
from tests.support.api_client import ApiClient, Reply, runner
from tests.support.environments import in_parallel_environments


def register(body: dict[str, Any]) -> Reply:
    return ApiClient().post("/api/v1/auth/register", body)


def test_two_simultaneous_registrations_with_one_email_exactly_one_succeeds(moto_endpoint: str) -> None:
    email = registration()["email"]
    # GIVEN the function loaded once, so each forked execution environment starts warm
    runner().load("identity_api")
    # WHEN two environments register the same email at the same moment
    replies = in_parallel_environments(register, [(registration(email=email),) for _ in range(2)])
    assert sorted(r.status for r in replies) == [201, 409]
    assert [r.code for r in replies if r.status == 409] == ["EMAIL_TAKEN"]


def test_many_simultaneous_registrations_with_one_slug_exactly_one_succeeds(moto_endpoint: str) -> None:
    slug = registration()["tenantSlug"]
    runner().load("identity_api")
    replies = in_parallel_environments(register, [(registration(tenantSlug=slug),) for _ in range(6)])
    assert sorted(r.status for r in replies) == [201] + [409] * 5


def test_passwords_and_tokens_never_appear_in_logs_or_responses(
    moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = ApiClient()
    secret_password, new_password = "Sup3rSecretPw", "An0therSecretPw"
    body = registration(password=secret_password)
    registered = client.post("/api/v1/auth/register", body)
    assert registered.status == 201
    token = registered.body["accessToken"]
    client.post("/api/v1/auth/login", {"email": body["email"], "password": "Wr0ngPassword"})
    client.post("/api/v1/auth/login", {"email": body["email"], "password": secret_password})
    changed = client.post(
        "/api/v1/auth/change-password",
        {"currentPassword": secret_password, "newPassword": new_password},
        token=token,
    )
    assert changed.status == 200
    client.post(
        "/api/v1/users",
        {"email": "leak@example.com", "password": secret_password, "firstName": "L", "lastName": "K"},
        token=changed.body["accessToken"],
        tenant=registered.body["tenant"]["id"],
    )
    client.post("/api/v1/auth/forgot-password", {"email": body["email"]})
    # every log record with all its structured fields, as the JSON formatter would print them
    logs = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert logs, "the handlers should have logged something"
    for secret in (secret_password, new_password, "Wr0ngPassword", registered.body["refreshToken"]):
        leaks = [line for line in logs.splitlines() if secret in line]
        assert not leaks, leaks[0][:2000]
    for reply in (registered, changed):
        assert secret_password not in str(reply.body) and new_password not in str(reply.body)
