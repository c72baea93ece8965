"""Finding 5: a transaction cancelled by a conflict or throttling is retried, never read as a failed
condition (token reuse, a taken email or slug); when it keeps conflicting: 503 with Retry-After."""

from __future__ import annotations

from tests.integration.identity.conftest import Account, registration
from tests.support.api_client import ApiClient
from tests.support.dynamodb_faults import cancelled_transactions

AUTH = "/api/v1/auth"


def test_a_conflict_while_rotating_a_refresh_token_is_retried_not_taken_for_reuse(account: Account) -> None:
    # WHEN DynamoDB cancels the rotation once with TransactionConflict (another request touched it)
    with cancelled_transactions(times=1) as cancelled:
        rotated = account.client.post(f"{AUTH}/refresh", {"refreshToken": account.refresh})
    # THEN the rotation is sent again and succeeds; no session was revoked as "reuse"
    assert cancelled == [2]
    assert rotated.status == 200, rotated.body
    assert account.get(f"{AUTH}/me").status == 200
    assert account.client.get(f"{AUTH}/me", token=rotated.body["accessToken"]).status == 200


def test_a_conflict_while_creating_a_tenant_is_not_a_false_slug_taken(account: Account) -> None:
    slug = f"conflict-{account.tenant_id[-8:]}"
    with cancelled_transactions(times=1, reason="TransactionConflict"):
        created = account.post("/api/v1/tenants", {"name": "Busy", "slug": slug})
    assert created.status == 201, created.body


def test_throttling_while_registering_is_retried_not_a_500(moto_endpoint: str) -> None:
    with cancelled_transactions(times=2, reason="ThrottlingError"):
        registered = ApiClient().post(f"{AUTH}/register", registration())
    assert registered.status == 201, registered.body


def test_conflicts_beyond_the_retries_answer_503_with_retry_after_and_write_nothing(account: Account) -> None:
    slug = f"busy-{account.tenant_id[-8:]}"
    with cancelled_transactions(times=100) as cancelled:
        busy = account.post("/api/v1/tenants", {"name": "Busy", "slug": slug})
    assert len(cancelled) > 1  # it was retried before giving up
    assert (busy.status, busy.code) == (503, "SERVICE_UNAVAILABLE")
    assert int(busy.headers["retry-after"]) >= 1
    # nothing was written: the same request now succeeds
    assert account.post("/api/v1/tenants", {"name": "Busy", "slug": slug}).status == 201


def test_a_conflict_on_an_idempotent_consume_is_retried_not_read_as_quota_exceeded(account: Account) -> None:
    from meterplex.entitlements.store import dynamodb_client
    from tests.integration.catalog.builders import build_plan

    plan = build_plan({"calls": ("QUOTA", {"limit": 100})})
    body = {"planId": plan.id, "priceId": plan.monthly_price_id}
    assert account.post("/api/v1/subscriptions", body, tenant=account.tenant_id).status == 201
    consume = f"/api/v1/entitlements/{plan.features['calls']}/consume"
    with cancelled_transactions(times=1, client=dynamodb_client()) as cancelled:
        reply = account.post(consume, {"amount": 3, "idempotencyKey": "k-1"}, tenant=account.tenant_id)
    assert cancelled == [2]
    assert reply.status == 200 and reply.body["consumed"] == 3, reply.body
