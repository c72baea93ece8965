"""Finding 1 (SPEC §2 as revised): an existing account is invited, never added silently; role and
isActive are per membership in the caller's tenant; members leave or are removed; the last OWNER
stays; accounts are switched off by platform admins only; everything in the tenant's audit trail."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meterplex.identity.repository import IdentityRepository
from meterplex.platform import topics
from meterplex.platform.auth import Role
from tests.integration.identity.conftest import PASSWORD, Account, register
from tests.integration.identity.test_tenant_user_key_routes import add_member
from tests.support.api_client import ApiClient, runner
from tests.support.environments import in_parallel_environments
from tests.support.kafka_events import batch

USERS, TENANTS, INVITES = "/api/v1/users", "/api/v1/tenants", "/api/v1/users/me/invitations"


def invite(inviter: Account, email: str, role: str = "DEVELOPER"):  # type: ignore[no-untyped-def]
    body = {"email": email, "password": "Ignored-Pass1", "firstName": "X", "lastName": "Y", "role": role}
    return inviter.post(USERS, body, tenant=inviter.tenant_id)


def tenant_ids(account: Account) -> set[str]:
    return {t["id"] for t in account.get(TENANTS).body["data"]}


def accept(invited: Account, inviter: Account) -> dict:
    (pending,) = [i for i in invited.get(INVITES).body["data"] if i["tenantId"] == inviter.tenant_id]
    reply = invited.post(f"{INVITES}/{pending['id']}/accept")
    assert reply.status == 200, reply.body
    return reply.body


# ------------------------------------------------------------------------------------- invitations
def test_adding_an_existing_account_invites_it_and_reveals_nothing(
    account: Account, platform_admin: Account
) -> None:
    # GIVEN an attacker's freshly registered tenant and a platform admin's email
    attacker = account
    # WHEN the attacker "adds" the platform admin to its tenant
    reply = invite(attacker, platform_admin.email, role="BILLING")
    # THEN it is only an invitation: 202, nothing about the account in the answer
    assert reply.status == 202, reply.body
    assert set(reply.body) == {"invitationId", "email", "role", "status", "expiresAt"}
    assert (reply.body["status"], reply.body["role"], reply.body["email"]) == (
        "PENDING",
        "BILLING",
        platform_admin.email,
    )
    # AND the account is in no tenant of the attacker, who can neither see nor disable it
    assert attacker.tenant_id not in tenant_ids(platform_admin)
    assert attacker.get(f"{USERS}/{platform_admin.user_id}").status == 404
    disable = attacker.patch(
        f"{USERS}/{platform_admin.user_id}", {"isActive": False}, tenant=attacker.tenant_id
    )
    assert disable.status == 404
    assert attacker.patch(f"/api/v1/admin/users/{platform_admin.user_id}", {"isActive": False}).status == 403
    login = ApiClient().post("/api/v1/auth/login", {"email": platform_admin.email, "password": PASSWORD})
    assert login.status == 200 and login.body["user"]["isPlatformAdmin"] is True


def test_the_invited_account_sees_the_invitation_and_joins_only_by_accepting(
    account: Account, other_account: Account
) -> None:
    created = invite(account, other_account.email, role="ADMIN").body
    listed = other_account.get(INVITES).body["data"]
    assert [(i["id"], i["tenantId"], i["role"], i["status"]) for i in listed] == [
        (created["invitationId"], account.tenant_id, "ADMIN", "PENDING")
    ]
    assert listed[0]["tenantName"] == account.get(f"{TENANTS}/{account.tenant_id}").body["name"]
    assert account.tenant_id not in tenant_ids(other_account)  # not before accepting
    joined = accept(other_account, account)
    assert (joined["id"], joined["role"]) == (account.tenant_id, "ADMIN")
    assert account.tenant_id in tenant_ids(other_account)
    assert other_account.get(INVITES).body["data"] == []  # no longer pending
    # and the password sent with POST /users was ignored
    login = ApiClient().post(
        "/api/v1/auth/login", {"email": other_account.email, "password": "Ignored-Pass1"}
    )
    assert login.status == 401


def test_accept_is_conditional_on_the_invitation_being_pending_unexpired_and_the_callers(
    account: Account, other_account: Account
) -> None:
    created = invite(account, other_account.email).body
    stranger = register()
    assert stranger.post(f"{INVITES}/{created['invitationId']}/accept").status == 404  # not theirs
    assert other_account.post(f"{INVITES}/{created['invitationId']}/decline").body["status"] == "DECLINED"
    again = other_account.post(f"{INVITES}/{created['invitationId']}/accept")
    assert (again.status, again.code) == (409, "INVITATION_NOT_PENDING")
    assert account.tenant_id not in tenant_ids(other_account)
    # an expired invitation cannot be accepted either
    from meterplex.identity.models import Invitation

    past = datetime.now(UTC) - timedelta(days=8)
    expired = Invitation(
        "inv-old",
        account.tenant_id,
        other_account.user_id,
        other_account.email,
        Role.ADMIN,
        f"user:{account.user_id}",
        past,
        past + timedelta(days=7),
    )
    IdentityRepository().save_invitation(expired, [])
    late = other_account.post(f"{INVITES}/inv-old/accept")
    assert (late.status, late.code) == (409, "INVITATION_EXPIRED")
    assert account.tenant_id not in tenant_ids(other_account)


def test_inviting_a_member_is_409_and_only_an_owner_invites_an_owner(
    account: Account, other_account: Account
) -> None:
    invite(account, other_account.email)
    accept(other_account, account)
    again = invite(account, other_account.email)
    assert (again.status, again.code) == (409, "ALREADY_A_MEMBER")
    admin = add_member(account, "ADMIN")
    third = register()
    assert invite(admin, third.email, role="OWNER").status == 403
    assert invite(admin, third.email, role="ADMIN").status == 202


# ------------------------------------------------------------------------------------- memberships
def test_role_and_active_change_only_the_membership_in_the_callers_tenant(
    account: Account, other_account: Account
) -> None:
    # GIVEN a user who is a member of two tenants
    member = register()
    invite(account, member.email)
    accept(member, account)
    invite(other_account, member.email)
    accept(member, other_account)
    # WHEN the first tenant's OWNER deactivates and promotes the membership in its tenant
    off = account.patch(
        f"{USERS}/{member.user_id}", {"isActive": False, "role": "ADMIN"}, tenant=account.tenant_id
    )
    assert off.status == 200 and off.body["membership"]["isActive"] is False and off.body["isActive"] is True
    # THEN the membership grants nothing there; the account and the other tenant are untouched
    refused = member.get(f"{TENANTS}/me/context", tenant=account.tenant_id)
    assert (refused.status, refused.code) == (403, "NOT_A_MEMBER")
    assert tenant_ids(member) == {member.tenant_id, other_account.tenant_id}
    assert member.get(f"{TENANTS}/me/context", tenant=other_account.tenant_id).body["role"] == "DEVELOPER"
    # AND the OWNER cannot reach the membership in a tenant it does not belong to
    elsewhere = account.patch(
        f"{USERS}/{member.user_id}", {"isActive": False}, tenant=other_account.tenant_id
    )
    assert (elsewhere.status, elsewhere.code) == (403, "NOT_A_MEMBER")
    back = account.patch(f"{USERS}/{member.user_id}", {"isActive": True}, tenant=account.tenant_id)
    assert back.body["membership"]["isActive"] is True
    assert member.get(f"{TENANTS}/me/context", tenant=account.tenant_id).body["role"] == "ADMIN"


def test_only_an_owner_grants_or_takes_owner_and_the_last_owner_stays(account: Account) -> None:
    t = account.tenant_id
    admin = add_member(account, "ADMIN")
    developer = add_member(account, "DEVELOPER")
    assert admin.patch(f"{USERS}/{developer.user_id}", {"role": "OWNER"}, tenant=t).status == 403
    assert admin.patch(f"{USERS}/{account.user_id}", {"role": "ADMIN"}, tenant=t).status == 403
    assert admin.patch(f"{USERS}/{account.user_id}", {"isActive": False}, tenant=t).status == 403
    # the only OWNER can neither demote itself nor leave
    assert account.patch(f"{USERS}/{account.user_id}", {"role": "ADMIN"}, tenant=t).status == 403
    leave = account.delete(f"{TENANTS}/{t}/members/{account.user_id}")
    assert (leave.status, leave.code) == (409, "LAST_OWNER")
    # with a second OWNER, the first may leave; the second is then the last one
    assert (
        account.patch(f"{USERS}/{admin.user_id}", {"role": "OWNER"}, tenant=t).body["membership"]["role"]
        == "OWNER"
    )
    assert account.delete(f"{TENANTS}/{t}/members/{account.user_id}").status == 204
    assert admin.delete(f"{TENANTS}/{t}/members/{admin.user_id}").code == "LAST_OWNER"


def demote(owner_access: str, tenant_id: str, other_user_id: str) -> int:
    return (
        ApiClient()
        .patch(f"{USERS}/{other_user_id}", {"role": "ADMIN"}, token=owner_access, tenant=tenant_id)
        .status
    )


def test_two_owners_demoting_each_other_at_once_leave_exactly_one_owner(account: Account) -> None:
    t = account.tenant_id
    second = add_member(account, "OWNER")
    runner().load("identity_api")
    statuses = in_parallel_environments(
        demote, [(account.access, t, second.user_id), (second.access, t, account.user_id)]
    )
    assert sorted(statuses) in ([200, 403], [200, 409])  # the loser's guard (still OWNER) no longer held
    owners = [m for m in IdentityRepository().members_of(t) if m.role is Role.OWNER and m.is_active]
    assert len(owners) == 1


def demoted_just_after_its_role_check(
    monkeypatch: pytest.MonkeyPatch, tenant_id: str, victim: str, by: str
) -> None:
    """The interleaving two OWNERs demoting each other can produce: `victim`'s request has
    rechecked its principal (still OWNER) when the other OWNER's demotion of it commits — just
    before the service reads `victim`'s own membership."""
    original = IdentityRepository.membership
    landed: list[bool] = []

    def membership(self: IdentityRepository, tenant: str, user_id: str):  # type: ignore[no-untyped-def]
        if (tenant, user_id) == (tenant_id, victim) and not landed:
            landed.append(True)
            repo = IdentityRepository()
            current, guard = original(repo, tenant, victim), original(repo, tenant, by)
            assert current is not None and guard is not None
            repo.update_membership(current, replace(current, role=Role.ADMIN), guard, [])
        return original(self, tenant, user_id)

    monkeypatch.setattr(IdentityRepository, "membership", membership)


def test_an_owner_demoted_after_its_role_check_can_no_longer_demote_the_other_owner(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # regression: the rules were judged by the principal's role read at the recheck, while the
    # write was conditional on the caller's membership read later — as ADMIN by then
    t = account.tenant_id
    second = add_member(account, "OWNER")
    demoted_just_after_its_role_check(monkeypatch, t, victim=second.user_id, by=account.user_id)
    reply = second.patch(f"{USERS}/{account.user_id}", {"role": "ADMIN"}, tenant=t)
    assert (reply.status, reply.code) == (403, "INSUFFICIENT_ROLE")
    owners = [m.user_id for m in IdentityRepository().members_of(t) if m.role is Role.OWNER]
    assert owners == [account.user_id]


def test_an_owner_demoted_after_its_role_check_can_no_longer_remove_the_other_owner(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = account.tenant_id
    second = add_member(account, "OWNER")
    demoted_just_after_its_role_check(monkeypatch, t, victim=second.user_id, by=account.user_id)
    reply = second.delete(f"{TENANTS}/{t}/members/{account.user_id}")
    assert (reply.status, reply.code) == (403, "INSUFFICIENT_ROLE")
    assert IdentityRepository().membership(t, account.user_id) is not None


def test_members_are_removed_by_owner_or_admin_or_leave(account: Account, other_account: Account) -> None:
    t = account.tenant_id
    admin = add_member(account, "ADMIN")
    developer = add_member(account, "DEVELOPER")
    billing = add_member(account, "BILLING")
    assert developer.delete(f"{TENANTS}/{t}/members/{billing.user_id}").status == 403
    assert admin.delete(f"{TENANTS}/{t}/members/{account.user_id}").status == 403  # an OWNER: OWNER only
    assert other_account.delete(f"{TENANTS}/{t}/members/{developer.user_id}").status == 404  # not theirs
    assert admin.delete(f"{TENANTS}/{t}/members/{developer.user_id}").status == 204
    assert developer.get(f"{TENANTS}/me/context", tenant=t).status == 403
    assert billing.delete(f"{TENANTS}/{t}/members/{billing.user_id}").status == 204  # leaving
    assert billing.get(f"{TENANTS}/{t}").status == 404
    assert admin.delete(f"{TENANTS}/{t}/members/{billing.user_id}").status == 404  # already gone


def test_a_removed_member_cannot_write_with_a_cached_token(account: Account) -> None:
    cached = ApiClient(authorizer_cache_ttl_s=30)
    admin = add_member(account, "ADMIN")
    admin_cached = Account(cached, admin.email, admin.user_id, admin.tenant_id, admin.access, admin.refresh)
    assert admin_cached.get("/api/v1/api-keys", tenant=account.tenant_id).status == 200  # cached as ADMIN
    assert account.delete(f"{TENANTS}/{account.tenant_id}/members/{admin.user_id}").status == 204
    write = admin_cached.post("/api/v1/api-keys", {"name": "after removal"}, tenant=account.tenant_id)
    assert (write.status, write.code) == (403, "NOT_A_MEMBER")


# ------------------------------------------------------------------------------------- accounts
def test_only_a_platform_admin_deactivates_an_account_and_it_ends_its_sessions(
    account: Account, platform_admin: Account
) -> None:
    owner_try = account.patch(f"/api/v1/admin/users/{platform_admin.user_id}", {"isActive": False})
    assert (owner_try.status, owner_try.code) == (403, "PLATFORM_ADMIN_REQUIRED")
    assert (
        platform_admin.patch(f"/api/v1/admin/users/{platform_admin.user_id}", {"isActive": False}).status
        == 403
    )
    off = platform_admin.patch(f"/api/v1/admin/users/{account.user_id}", {"isActive": False})
    assert off.status == 200 and off.body["isActive"] is False
    assert account.get("/api/v1/auth/me").status == 401
    assert (
        ApiClient().post("/api/v1/auth/login", {"email": account.email, "password": PASSWORD}).status == 401
    )
    assert platform_admin.patch(f"/api/v1/admin/users/{account.user_id}", {"isActive": True}).status == 200
    assert (
        ApiClient().post("/api/v1/auth/login", {"email": account.email, "password": PASSWORD}).status == 200
    )
    assert account.get("/api/v1/auth/me").status == 401  # the old session stays ended
    assert platform_admin.patch("/api/v1/admin/users/nobody", {"isActive": False}).status == 404


# ------------------------------------------------------------------------------------- audit
def outbox_events(tenant_id: str) -> list[bytes]:
    from meterplex.platform.outbox import OutboxItem

    return [item.payload.encode() for item in OutboxItem.query(f"OUTBOX#{tenant_id}")]


def test_membership_changes_are_audited_in_the_tenants_trail(
    account: Account, other_account: Account
) -> None:
    t = account.tenant_id
    invite(account, other_account.email)
    accept(other_account, account)
    account.patch(f"{USERS}/{other_account.user_id}", {"role": "BILLING"}, tenant=t)
    account.delete(f"{TENANTS}/{t}/members/{other_account.user_id}")
    # WHEN the tenant's outbox events reach the audit writer (what Kafka delivers)
    assert runner().invoke("audit_writer", batch(topics.DOMAIN, outbox_events(t))) == {
        "batchItemFailures": []
    }
    # THEN the tenant's own trail holds every membership change
    trail = account.get("/api/v1/audit-events", tenant=t).body["data"]
    types = Counter(e["type"] for e in trail)
    assert {"member.invited", "member.joined", "member.updated", "member.removed"} <= set(types)
    updated = next(e for e in trail if e["type"] == "member.updated")
    assert updated["resource"] == "membership" and updated["action"] == "update"
    assert updated["before"] == {"role": "DEVELOPER", "isActive": True}
    assert updated["after"] == {"role": "BILLING", "isActive": True}
