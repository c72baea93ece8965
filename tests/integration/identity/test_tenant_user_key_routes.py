"""/api/v1/tenants, /users, /api-keys — roles (SPEC §2), isolation (404), validation, conflicts."""

from __future__ import annotations

import pytest

from tests.integration.identity.conftest import PASSWORD, Account, register

TENANTS, USERS, KEYS = "/api/v1/tenants", "/api/v1/users", "/api/v1/api-keys"


def add_member(owner: Account, role: str, email: str | None = None) -> Account:
    email = email or f"{role.lower()}-{owner.tenant_id[-8:]}@example.com"
    reply = owner.post(
        USERS,
        {"email": email, "password": PASSWORD, "firstName": "M", "lastName": role, "role": role},
        tenant=owner.tenant_id,
    )
    assert reply.status == 201, reply.body
    login = owner.client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).body
    return Account(
        owner.client, email, reply.body["id"], owner.tenant_id, login["accessToken"], login["refreshToken"]
    )


# ------------------------------------------------------------------------------------- tenants
def test_create_tenant_makes_the_caller_owner(account: Account) -> None:
    reply = account.post(TENANTS, {"name": "Second", "slug": f"second-{account.tenant_id[-6:]}"})
    assert reply.status == 201 and reply.body["role"] == "OWNER"
    listed = account.get(TENANTS).body
    assert {t["id"] for t in listed["data"]} == {account.tenant_id, reply.body["id"]}
    assert listed["meta"] == {"total": 2, "page": 1, "limit": 20, "totalPages": 1}


def test_create_tenant_validation_and_conflict(account: Account) -> None:
    assert account.post(TENANTS, {"name": "", "slug": "x"}).fields() == {"name", "slug"}
    slug = account.get(f"{TENANTS}/{account.tenant_id}").body["slug"]
    assert account.post(TENANTS, {"name": "Dup", "slug": slug}).status == 409


def test_tenant_list_is_paginated(account: Account) -> None:
    for i in range(2):
        account.post(TENANTS, {"name": f"T{i}", "slug": f"pg{i}-{account.tenant_id[-6:]}"})
    page = account.get(TENANTS, query={"page": 2, "limit": 2}).body
    assert page["meta"] == {"total": 3, "page": 2, "limit": 2, "totalPages": 2}
    assert len(page["data"]) == 1
    assert account.get(TENANTS, query={"limit": 101}).status == 400


def test_get_tenant_by_id_and_slug_for_members_only(account: Account, other_account: Account) -> None:
    slug = account.get(f"{TENANTS}/{account.tenant_id}").body["slug"]
    assert account.get(f"{TENANTS}/slug/{slug}").body["id"] == account.tenant_id
    # another tenant's object answers 404, never revealing that it exists
    assert other_account.get(f"{TENANTS}/{account.tenant_id}").status == 404
    assert other_account.get(f"{TENANTS}/slug/{slug}").status == 404
    assert account.get(f"{TENANTS}/does-not-exist").status == 404


def test_path_tenant_differing_from_header_answers_403(account: Account) -> None:
    second = account.post(TENANTS, {"name": "Two", "slug": f"two-{account.tenant_id[-6:]}"}).body
    reply = account.get(f"{TENANTS}/{account.tenant_id}", tenant=second["id"])
    assert reply.status == 403 and reply.code == "TENANT_MISMATCH"


def test_update_tenant_needs_owner_or_admin(account: Account) -> None:
    developer = add_member(account, "DEVELOPER")
    denied = developer.patch(f"{TENANTS}/{account.tenant_id}", {"name": "Nope"}, tenant=account.tenant_id)
    assert denied.status == 403
    admin = add_member(account, "ADMIN")
    ok = admin.patch(f"{TENANTS}/{account.tenant_id}", {"name": "Renamed", "metadata": {"tier": "gold"}})
    assert ok.status == 200 and ok.body["name"] == "Renamed" and ok.body["metadata"] == {"tier": "gold"}
    assert account.patch(f"{TENANTS}/{account.tenant_id}", {}).status == 400
    assert account.patch(f"{TENANTS}/{account.tenant_id}", {"status": "DELETED"}).fields() == {"status"}


def test_tenant_context_reports_tenant_and_role(account: Account) -> None:
    reply = account.get(f"{TENANTS}/me/context", tenant=account.tenant_id)
    assert reply.status == 200
    assert reply.body["tenant"]["id"] == account.tenant_id and reply.body["role"] == "OWNER"
    assert account.get(f"{TENANTS}/me/context").status == 400  # x-tenant-id missing
    stranger = register()
    assert stranger.get(f"{TENANTS}/me/context", tenant=account.tenant_id).status == 403


# ------------------------------------------------------------------------------------- users
def test_create_user_defaults_to_developer_and_rejects_duplicates(account: Account) -> None:
    body = {
        "email": f"dev-{account.tenant_id[-6:]}@example.com",
        "password": PASSWORD,
        "firstName": "A",
        "lastName": "B",
    }
    created = account.post(USERS, body, tenant=account.tenant_id)
    assert created.status == 201 and created.body["role"] == "DEVELOPER"
    assert account.post(USERS, body, tenant=account.tenant_id).status == 409


def test_create_user_roles_and_validation(account: Account) -> None:
    admin = add_member(account, "ADMIN")
    grant_owner = admin.post(
        USERS,
        {"email": "o@example.com", "password": PASSWORD, "firstName": "O", "lastName": "W", "role": "OWNER"},
        tenant=account.tenant_id,
    )
    assert grant_owner.status == 403
    developer = add_member(account, "DEVELOPER")
    assert (
        developer.post(
            USERS,
            {"email": "z@example.com", "password": PASSWORD, "firstName": "Z", "lastName": "Z"},
            tenant=account.tenant_id,
        ).status
        == 403
    )
    bad = account.post(
        USERS, {"email": "bad", "password": PASSWORD, "firstName": "A"}, tenant=account.tenant_id
    )
    assert bad.status == 400 and {"email", "lastName"} <= bad.fields()
    assert (
        account.post(
            USERS, {"email": "n@example.com", "password": PASSWORD, "firstName": "A", "lastName": "B"}
        ).status
        == 400
    )  # no x-tenant-id


def test_get_user_only_when_sharing_a_tenant(account: Account, other_account: Account) -> None:
    member = add_member(account, "DEVELOPER")
    assert account.get(f"{USERS}/{member.user_id}").status == 200
    assert other_account.get(f"{USERS}/{member.user_id}").status == 404
    assert account.get(f"{USERS}/{account.user_id}").status == 200


def test_update_user_rules(account: Account) -> None:
    t = account.tenant_id
    developer = add_member(account, "DEVELOPER")
    # names: one's own only, never another member's
    assert developer.patch(f"{USERS}/{developer.user_id}", {"firstName": "Me"}).body["firstName"] == "Me"
    assert developer.patch(f"{USERS}/{account.user_id}", {"firstName": "Hacked"}).status == 403
    admin = add_member(account, "ADMIN")
    assert admin.patch(f"{USERS}/{developer.user_id}", {"lastName": "Renamed"}).status == 403
    # role / isActive: of another member's membership, in the x-tenant-id tenant, by OWNER/ADMIN
    assert account.patch(f"{USERS}/{account.user_id}", {"isActive": False}, tenant=t).status == 403
    assert admin.patch(f"{USERS}/{developer.user_id}", {"isActive": False}).status == 400  # no tenant
    assert developer.patch(f"{USERS}/{admin.user_id}", {"role": "DEVELOPER"}, tenant=t).status == 403
    off = admin.patch(f"{USERS}/{developer.user_id}", {"isActive": False}, tenant=t)
    assert off.status == 200 and off.body["membership"] == {
        "tenantId": t,
        "role": "DEVELOPER",
        "isActive": False,
    }
    assert off.body["isActive"] is True  # the account itself is untouched
    assert account.patch(f"{USERS}/{developer.user_id}", {"email": "x@y.z"}).status == 400


# ------------------------------------------------------------------------------------- API keys
def test_api_key_is_shown_once_and_stored_hashed(account: Account) -> None:
    created = account.post(KEYS, {"name": "CI", "expiresInDays": 30}, tenant=account.tenant_id)
    assert created.status == 201
    key = created.body["key"]
    assert key.startswith("mp_live_") and len(key) >= len("mp_live_") + 40
    assert created.body["prefix"] == key[:12]
    listed = account.get(KEYS, tenant=account.tenant_id).body["data"]
    assert [k["id"] for k in listed] == [created.body["id"]]
    assert key not in str(listed)
    # the key authenticates as its tenant
    context = account.client.get(f"{TENANTS}/me/context", token=key)
    assert context.status == 200 and context.body["tenant"]["id"] == account.tenant_id


@pytest.mark.parametrize("role", ["DEVELOPER", "BILLING"])
def test_only_owner_or_admin_manage_api_keys(account: Account, role: str) -> None:
    member = add_member(account, role)
    assert member.post(KEYS, {"name": "x"}, tenant=account.tenant_id).status == 403
    assert member.get(KEYS, tenant=account.tenant_id).status == 403


def test_api_key_validation(account: Account) -> None:
    assert account.post(KEYS, {"name": "x", "expiresInDays": 0}, tenant=account.tenant_id).fields() == {
        "expiresInDays"
    }
    assert account.post(KEYS, {"name": "x", "expiresInDays": 366}, tenant=account.tenant_id).status == 400


def test_revoked_api_key_answers_401(account: Account) -> None:
    created = account.post(KEYS, {"name": "tmp"}, tenant=account.tenant_id).body
    revoked = account.delete(f"{KEYS}/{created['id']}", tenant=account.tenant_id)
    assert revoked.status == 200 and revoked.body["status"] == "REVOKED"
    assert account.client.get(f"{TENANTS}/me/context", token=created["key"]).status == 401
    assert account.delete(f"{KEYS}/nope", tenant=account.tenant_id).status == 404


def test_another_tenants_api_key_cannot_be_revoked(account: Account, other_account: Account) -> None:
    created = account.post(KEYS, {"name": "mine"}, tenant=account.tenant_id).body
    reply = other_account.delete(f"{KEYS}/{created['id']}", tenant=other_account.tenant_id)
    assert reply.status == 404


def test_api_key_cannot_manage_keys_or_users(account: Account) -> None:
    key = account.post(KEYS, {"name": "k"}, tenant=account.tenant_id).body["key"]
    assert account.client.post(KEYS, {"name": "x"}, token=key).status == 403
    assert account.client.get("/api/v1/auth/me", token=key).status == 403
