"""Finding 8: tenant status. SUSPENDED is set and lifted by platform admins only; an OWNER may
CANCEL; while SUSPENDED every API key → 401 (however many) and members may read, not write (403
TENANT_SUSPENDED); status changes are conditional on the tenant's version."""

from __future__ import annotations

import os

import boto3

from tests.integration.identity.conftest import Account
from tests.integration.identity.test_tenant_user_key_routes import add_member
from tests.support.api_client import ApiClient
from tests.support.dynamodb_faults import before_next_transaction

TENANTS, KEYS = "/api/v1/tenants", "/api/v1/api-keys"


def set_status(admin: Account, tenant_id: str, status: str):  # type: ignore[no-untyped-def]
    return admin.patch(f"{TENANTS}/{tenant_id}", {"status": status})


def test_an_owner_cannot_suspend_or_reactivate_its_tenant_a_platform_admin_can(
    account: Account, platform_admin: Account
) -> None:
    refused = account.patch(f"{TENANTS}/{account.tenant_id}", {"status": "SUSPENDED"})
    assert (refused.status, refused.code) == (403, "PLATFORM_ADMIN_REQUIRED")
    assert account.get(f"{TENANTS}/{account.tenant_id}").body["status"] == "ACTIVE"
    # the platform admin (not a member) suspends it; the OWNER cannot lift the suspension
    assert set_status(platform_admin, account.tenant_id, "SUSPENDED").body["status"] == "SUSPENDED"
    lift = account.patch(f"{TENANTS}/{account.tenant_id}", {"status": "ACTIVE"})
    assert (lift.status, lift.code) == (403, "PLATFORM_ADMIN_REQUIRED")
    assert set_status(platform_admin, account.tenant_id, "ACTIVE").body["status"] == "ACTIVE"


def test_suspending_a_tenant_with_many_keys_refuses_every_key_and_lifting_restores_them(
    account: Account, platform_admin: Account
) -> None:
    # GIVEN more API keys than one transaction could ever update (some of them revoked)
    keys = [account.post(KEYS, {"name": f"k{i}"}, tenant=account.tenant_id).body for i in range(101)]
    for revoked in keys[:3]:
        assert account.delete(f"{KEYS}/{revoked['id']}", tenant=account.tenant_id).status == 200
    live = keys[3:]
    # WHEN a platform admin suspends the tenant
    suspended = set_status(platform_admin, account.tenant_id, "SUSPENDED")
    # THEN it succeeds, and every key is refused, the newest and the oldest alike
    assert suspended.status == 200, suspended.body
    for key in (live[0], live[len(live) // 2], live[-1]):
        assert ApiClient().get(f"{TENANTS}/me/context", token=key["key"]).status == 401
    # AND lifting the suspension brings them back (nothing was copied onto the keys)
    assert set_status(platform_admin, account.tenant_id, "ACTIVE").status == 200
    assert ApiClient().get(f"{TENANTS}/me/context", token=live[-1]["key"]).status == 200
    assert ApiClient().get(f"{TENANTS}/me/context", token=keys[0]["key"]).status == 401  # revoked stays


def test_members_of_a_suspended_tenant_read_but_cannot_write(
    account: Account, platform_admin: Account
) -> None:
    admin_member = add_member(account, "ADMIN")
    set_status(platform_admin, account.tenant_id, "SUSPENDED")
    t = account.tenant_id
    assert account.get(f"{TENANTS}/{t}").status == 200
    assert account.get(f"{TENANTS}/me/context", tenant=t).body["tenant"]["status"] == "SUSPENDED"
    assert admin_member.get(KEYS, tenant=t).status == 200  # reading keys re-checks, and is allowed
    for write in (
        account.post(KEYS, {"name": "during"}, tenant=t),
        admin_member.patch(f"{TENANTS}/{t}", {"name": "Renamed"}, tenant=t),
        account.patch(f"{TENANTS}/{t}", {"status": "CANCELLED"}),
        account.post(
            "/api/v1/users",
            {"email": "x@example.com", "password": "Pass-1234", "firstName": "X", "lastName": "Y"},
            tenant=t,
        ),
    ):
        assert (write.status, write.code) == (403, "TENANT_SUSPENDED"), write.body


def test_an_owner_may_cancel_its_tenant_which_then_refuses_keys_and_writes(account: Account) -> None:
    key = account.post(KEYS, {"name": "k"}, tenant=account.tenant_id).body["key"]
    admin_member = add_member(account, "ADMIN")
    denied = admin_member.patch(f"{TENANTS}/{account.tenant_id}", {"status": "CANCELLED"})
    assert (denied.status, denied.code) == (403, "INSUFFICIENT_ROLE")  # OWNER only
    cancelled = account.patch(f"{TENANTS}/{account.tenant_id}", {"status": "CANCELLED"})
    assert cancelled.status == 200 and cancelled.body["status"] == "CANCELLED"
    assert ApiClient().get(f"{TENANTS}/me/context", token=key).status == 401
    write = account.post(KEYS, {"name": "after"}, tenant=account.tenant_id)
    assert (write.status, write.code) == (403, "TENANT_CANCELLED")


def test_a_concurrent_rename_cannot_undo_a_suspension(account: Account) -> None:
    table = os.environ["MP_CORE_TABLE"]
    client = boto3.client("dynamodb")

    def concurrent_suspension() -> None:  # another request, landing between the rename's read and write
        client.update_item(
            TableName=table,
            Key={"pk": {"S": f"TENANT#{account.tenant_id}"}, "sk": {"S": "PROFILE"}},
            UpdateExpression="SET #s = :s ADD #v :one",
            ExpressionAttributeNames={"#s": "status", "#v": "version"},
            ExpressionAttributeValues={":s": {"S": "SUSPENDED"}, ":one": {"N": "1"}},
        )

    with before_next_transaction(concurrent_suspension) as ran:
        renamed = account.patch(f"{TENANTS}/{account.tenant_id}", {"name": "Renamed"})
    assert ran == [1]
    # the rename read ACTIVE at version 0; it must not write that stale status back
    assert (renamed.status, renamed.code) == (409, "TENANT_CHANGED")
    tenant = account.get(f"{TENANTS}/{account.tenant_id}").body
    assert tenant["status"] == "SUSPENDED" and tenant["name"] != "Renamed"


def test_the_hot_path_reads_but_does_not_consume_in_a_suspended_tenant(
    account: Account, platform_admin: Account
) -> None:
    from tests.integration.catalog.builders import build_plan

    plan = build_plan({"calls": ("QUOTA", {"limit": 100})})
    body = {"planId": plan.id, "priceId": plan.monthly_price_id}
    assert account.post("/api/v1/subscriptions", body, tenant=account.tenant_id).status == 201
    key = account.post(KEYS, {"name": "app"}, tenant=account.tenant_id).body["key"]
    feature = f"/api/v1/entitlements/{plan.features['calls']}"
    assert account.post(f"{feature}/consume", {"amount": 1}, tenant=account.tenant_id).status == 200
    set_status(platform_admin, account.tenant_id, "SUSPENDED")
    # a member still reads; a consume is a write: refused (from the authorizer's context, ADR 0031)
    assert account.get(f"{feature}/check", tenant=account.tenant_id).body["used"] == 1
    consume = account.post(f"{feature}/consume", {"amount": 1}, tenant=account.tenant_id)
    assert (consume.status, consume.code) == (403, "TENANT_SUSPENDED")
    # the tenant's API key is refused outright
    assert ApiClient().get(f"{feature}/check", token=key).status == 401
    assert ApiClient().post(f"{feature}/consume", {"amount": 1}, token=key).status == 401
