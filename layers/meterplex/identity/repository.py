"""Identity persistence (PynamoDB). Invariants are conditional writes and transactions, never
read-then-write; DynamoDB errors become domain errors here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from meterplex.identity import items as it
from meterplex.identity.models import (
    ApiKey,
    Collection,
    Invitation,
    InvitationStatus,
    Membership,
    RefreshToken,
    Tenant,
    TenantStatus,
    User,
)
from meterplex.platform import topics
from meterplex.platform.auth import Role
from meterplex.platform.clock import epoch_s, iso, parse_iso
from meterplex.platform.core_table import GSI1, GSI4, core_transaction
from meterplex.platform.errors import Conflict, Forbidden, MeterplexError, NotFound, Unauthenticated
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item
from meterplex.platform.transactions import condition_failed, failed_keys, retrying


def email_taken() -> Conflict:
    return Conflict("This email is already registered", code="EMAIL_TAKEN")


def slug_taken() -> Conflict:
    return Conflict("This tenant slug is taken", code="SLUG_TAKEN")


def tenant_changed() -> Conflict:
    return Conflict("The tenant was changed meanwhile; read it again and retry", code="TENANT_CHANGED")


def already_a_member() -> Conflict:
    return Conflict("This user is already a member of the tenant", code="ALREADY_A_MEMBER")


def membership_changed() -> Conflict:
    return Conflict(
        "The membership was changed meanwhile; read it again and retry", code="MEMBERSHIP_CHANGED"
    )


def invitation_not_open() -> Conflict:
    return Conflict("The invitation is no longer pending", code="INVITATION_NOT_PENDING")


def tenant_not_active() -> Forbidden:
    return Forbidden("The tenant is not active: it cannot gain members now", code="TENANT_NOT_ACTIVE")


@contextmanager
def refused_as(error: Callable[[], MeterplexError]) -> Iterator[None]:
    """Turn a failed write condition into the domain error `error()`; a conflict or throttling is
    never one (the transaction retries those, then answers 503)."""
    try:
        yield
    except PynamoDBException as failure:
        if condition_failed(failure):
            raise error() from failure
        raise


class RefreshReuse(Exception):
    """A refresh token that was already rotated or revoked was presented again."""


def _user(item: it.UserItem) -> User:
    return User(
        id=item.id,
        email=item.email,
        password_hash=item.passwordHash,
        first_name=item.firstName,
        last_name=item.lastName,
        is_active=bool(item.isActive),
        is_platform_admin=bool(item.isPlatformAdmin),
        session_version=int(item.sessionVersion or 0),
        created_at=parse_iso(item.createdAt),
        updated_at=parse_iso(item.updatedAt),
    )


def _user_item(user: User) -> it.UserItem:
    return it.UserItem(
        it.user_pk(user.id),
        it.PROFILE,
        id=user.id,
        email=user.email,
        passwordHash=user.password_hash,
        firstName=user.first_name,
        lastName=user.last_name,
        isActive=user.is_active,
        isPlatformAdmin=user.is_platform_admin,
        sessionVersion=user.session_version,
        createdAt=iso(user.created_at),
        updatedAt=iso(user.updated_at),
    )


def _tenant(item: it.TenantItem) -> Tenant:
    return Tenant(
        id=item.id,
        name=item.name,
        slug=item.slug,
        status=TenantStatus(item.status),
        metadata=dict(item.meta or {}),
        version=int(item.version or 0),
        collection=Collection(item.collection or Collection.AUTOMATIC.value),
        created_at=parse_iso(item.createdAt),
        updated_at=parse_iso(item.updatedAt),
    )


def _tenant_item(tenant: Tenant) -> it.TenantItem:
    return it.TenantItem(
        it.tenant_pk(tenant.id),
        it.PROFILE,
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        status=tenant.status.value,
        meta=tenant.metadata,
        version=tenant.version,
        collection=tenant.collection.value,
        createdAt=iso(tenant.created_at),
        updatedAt=iso(tenant.updated_at),
        gsi4pk=it.ALL_TENANTS_GSI,
        gsi4sk=it.tenant_pk(tenant.id),
    )


def _member_item(membership: Membership, at: datetime) -> it.MemberItem:
    return it.MemberItem(
        it.user_pk(membership.user_id),
        it.MEMBER_PREFIX + membership.tenant_id,
        tenantId=membership.tenant_id,
        userId=membership.user_id,
        role=membership.role.value,
        isActive=membership.is_active,
        createdAt=iso(at),
        gsi1pk=it.members_gsi(membership.tenant_id),
        gsi1sk=it.user_pk(membership.user_id),
    )


def _membership(item: it.MemberItem) -> Membership:
    return Membership(
        tenant_id=item.tenantId,
        user_id=item.userId,
        role=Role(item.role),
        is_active=item.isActive is not False,
    )


def _api_key(item: it.ApiKeyItem) -> ApiKey:
    return ApiKey(
        id=item.id,
        tenant_id=item.tenantId,
        name=item.name,
        prefix=item.prefix,
        key_hash=item.pk.removeprefix("APIKEY#"),
        created_at=parse_iso(item.createdAt),
        created_by=item.createdBy,
        expires_at=parse_iso(item.keyExpiresAt) if item.keyExpiresAt else None,
        revoked_at=parse_iso(item.revokedAt) if item.revokedAt else None,
    )


def _invite_item(invitation: Invitation) -> it.InviteItem:
    return it.InviteItem(
        it.user_pk(invitation.user_id),
        it.INVITE_PREFIX + invitation.tenant_id,
        id=invitation.id,
        tenantId=invitation.tenant_id,
        userId=invitation.user_id,
        email=invitation.email,
        role=invitation.role.value,
        status=invitation.status.value,
        invitedBy=invitation.invited_by,
        createdAt=iso(invitation.created_at),
        expiresAt=epoch_s(invitation.expires_at),
    )


def _invite_key(invitation: Invitation) -> it.InviteItem:
    return it.InviteItem(it.user_pk(invitation.user_id), it.INVITE_PREFIX + invitation.tenant_id)


def _invitation(item: it.InviteItem) -> Invitation:
    return Invitation(
        id=item.id,
        tenant_id=item.tenantId,
        user_id=item.userId,
        email=item.email,
        role=Role(item.role),
        invited_by=item.invitedBy,
        created_at=parse_iso(item.createdAt),
        expires_at=datetime.fromtimestamp(int(item.expiresAt or 0), tz=UTC),
        status=InvitationStatus(item.status),
    )


def _still(membership: Membership) -> Any:
    """The membership item still has the role and active flag it was read with."""
    member = it.MemberItem
    same_role = member.role == membership.role.value
    if membership.is_active:
        return same_role & (member.isActive.does_not_exist() | (member.isActive == True))  # noqa: E712
    return same_role & (member.isActive == False)  # noqa: E712


def _not_exists() -> Any:
    return it.IdentityItem.pk.does_not_exist()


def _exists() -> Any:
    return it.IdentityItem.pk.exists()


class IdentityRepository:
    """Every identity read and write. Each write also stores its domain events (the outbox)."""

    def _transaction(self) -> TransactWrite:
        return core_transaction()

    @staticmethod
    def _outbox(tx: TransactWrite, events: Iterable[DomainEvent]) -> None:
        for event in events:
            tx.save(outbox_item(event, topics.DOMAIN))

    # ------------------------------------------------------------------ users and tenants
    def register(
        self, user: User, tenant: Tenant, membership: Membership, events: Sequence[DomainEvent]
    ) -> None:
        """User, tenant and OWNER membership at once; the email and the slug must both be free."""
        tx = self._transaction()
        try:
            with tx:
                self._new_user(tx, user)
                self._new_tenant(tx, tenant)
                tx.save(_member_item(membership, user.created_at))
                self._outbox(tx, events)
        except TransactWriteError as error:
            failed = failed_keys(tx, error)
            if (it.email_pk(user.email), "EMAIL") in failed:
                raise email_taken() from error
            if (it.slug_pk(tenant.slug), "SLUG") in failed:
                raise slug_taken() from error
            raise

    def create_user(self, user: User, membership: Membership, events: Sequence[DomainEvent]) -> None:
        with refused_as(email_taken), self._transaction() as tx:
            self._new_user(tx, user)
            tx.save(_member_item(membership, user.created_at))
            self._outbox(tx, events)

    def create_standalone_user(self, user: User, events: Sequence[DomainEvent]) -> None:
        """A user with no tenant (the bootstrap platform admin)."""
        with refused_as(email_taken), self._transaction() as tx:
            self._new_user(tx, user)
            self._outbox(tx, events)

    def set_platform_admin(self, user_id: str, value: bool, events: Sequence[DomainEvent]) -> None:
        with self._transaction() as tx:
            tx.update(
                it.UserItem(it.user_pk(user_id), it.PROFILE),
                actions=[it.UserItem.isPlatformAdmin.set(value)],
                condition=_exists(),
            )
            self._outbox(tx, events)

    def create_tenant(self, tenant: Tenant, membership: Membership, events: Sequence[DomainEvent]) -> None:
        with refused_as(slug_taken), self._transaction() as tx:
            self._new_tenant(tx, tenant)
            tx.save(_member_item(membership, tenant.created_at))
            self._outbox(tx, events)

    def add_membership(self, membership: Membership, at: datetime, events: Sequence[DomainEvent]) -> None:
        with refused_as(already_a_member), self._transaction() as tx:
            tx.save(_member_item(membership, at), condition=_not_exists())
            self._outbox(tx, events)

    @staticmethod
    def _new_user(tx: TransactWrite, user: User) -> None:
        """The user's profile and its email guard (the write fails if the email is taken)."""
        tx.save(it.EmailItem(it.email_pk(user.email), "EMAIL", userId=user.id), condition=_not_exists())
        tx.save(_user_item(user))

    @staticmethod
    def _new_tenant(tx: TransactWrite, tenant: Tenant) -> None:
        """The tenant and its slug guard (the write fails if the slug is taken)."""
        tx.save(it.SlugItem(it.slug_pk(tenant.slug), "SLUG", tenantId=tenant.id), condition=_not_exists())
        tx.save(_tenant_item(tenant))

    def user_id_by_email(self, email: str) -> str | None:
        try:
            item = it.EmailItem.get(it.email_pk(email), "EMAIL")
        except DoesNotExist:
            return None
        return str(item.userId)

    def get_user(self, user_id: str) -> User | None:
        try:
            return _user(it.UserItem.get(it.user_pk(user_id), it.PROFILE))
        except DoesNotExist:
            return None

    def user_with_memberships(
        self, user_id: str, *, consistent: bool = False
    ) -> tuple[User | None, list[Membership]]:
        """Profile and every membership of a user in ONE Query (the authorizer's read): the sort
        keys `MEMBER#…` … `PROFILE`, so nothing else kept under the user is read."""
        user, memberships = None, []
        in_range = it.IdentityItem.sk.between(it.MEMBER_PREFIX, it.PROFILE)
        for item in it.IdentityItem.query(it.user_pk(user_id), in_range, consistent_read=consistent):
            if isinstance(item, it.UserItem):
                user = _user(item)
            elif isinstance(item, it.MemberItem):
                memberships.append(_membership(item))
        return user, memberships

    def memberships_of(self, user_id: str) -> list[Membership]:
        return [
            _membership(item)
            for item in it.IdentityItem.query(
                it.user_pk(user_id), it.IdentityItem.sk.startswith(it.MEMBER_PREFIX)
            )
            if isinstance(item, it.MemberItem)
        ]

    def members_of(self, tenant_id: str) -> list[Membership]:
        return [
            _membership(item)
            for item in it.IdentityItem.query(it.members_gsi(tenant_id), index_name=GSI1)
            if isinstance(item, it.MemberItem)
        ]

    def membership(self, tenant_id: str, user_id: str) -> Membership | None:
        try:
            item = it.MemberItem.get(it.user_pk(user_id), it.MEMBER_PREFIX + tenant_id)
        except DoesNotExist:
            return None
        return _membership(item)

    def update_profile(self, user: User, events: Sequence[DomainEvent]) -> None:
        """Set the names only (the account's own fields): a concurrent password change, session
        revocation or deactivation is never overwritten."""
        with self._transaction() as tx:
            tx.update(
                it.UserItem(it.user_pk(user.id), it.PROFILE),
                actions=[
                    it.UserItem.firstName.set(user.first_name),
                    it.UserItem.lastName.set(user.last_name),
                    it.UserItem.updatedAt.set(iso(user.updated_at)),
                ],
                condition=_exists(),
            )
            self._outbox(tx, events)

    def bump_session_version(
        self, user_id: str, at: datetime, events: Sequence[DomainEvent], *, password_hash: str | None = None
    ) -> int:
        """Revoke every session of a user (optionally setting a new password); the new version."""
        actions: list[Action] = [it.UserItem.sessionVersion.add(1), it.UserItem.updatedAt.set(iso(at))]
        if password_hash is not None:
            actions.append(it.UserItem.passwordHash.set(password_hash))
        item = it.UserItem(it.user_pk(user_id), it.PROFILE)
        with self._transaction() as tx:
            tx.update(item, actions=actions, condition=_exists())
            self._outbox(tx, events)
        user = self.get_user(user_id)
        if user is None:
            raise NotFound("User not found", code="USER_NOT_FOUND")
        return user.session_version

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        try:
            return _tenant(it.TenantItem.get(it.tenant_pk(tenant_id), it.PROFILE))
        except DoesNotExist:
            return None

    def user_in_tenant(
        self, user_id: str, tenant_id: str
    ) -> tuple[User | None, Membership | None, Tenant | None]:
        """A user's profile, membership in `tenant_id` and that tenant: ONE strongly consistent
        BatchGetItem (the write guard's re-check of a JWT acting in a tenant)."""
        keys = [
            (it.user_pk(user_id), it.PROFILE),
            (it.user_pk(user_id), it.MEMBER_PREFIX + tenant_id),
            (it.tenant_pk(tenant_id), it.PROFILE),
        ]
        user = membership = tenant = None
        for item in it.IdentityItem.batch_get(keys, consistent_read=True):
            if isinstance(item, it.UserItem):
                user = _user(item)
            elif isinstance(item, it.MemberItem):
                membership = _membership(item)
            elif isinstance(item, it.TenantItem):
                tenant = _tenant(item)
        return user, membership, tenant

    def api_key_with_tenant(self, key_hash: str, tenant_id: str) -> tuple[ApiKey | None, Tenant | None]:
        """An API key and its tenant: ONE strongly consistent BatchGetItem (the write guard's)."""
        key = tenant = None
        keys = [(f"APIKEY#{key_hash}", "APIKEY"), (it.tenant_pk(tenant_id), it.PROFILE)]
        for item in it.IdentityItem.batch_get(keys, consistent_read=True):
            if isinstance(item, it.ApiKeyItem):
                key = _api_key(item)
            elif isinstance(item, it.TenantItem):
                tenant = _tenant(item)
        return key, tenant

    def tenants(self, tenant_ids: Sequence[str], *, consistent: bool = False) -> dict[str, Tenant]:
        keys = [(it.tenant_pk(t), it.PROFILE) for t in tenant_ids]
        found: dict[str, Tenant] = {}
        if not keys:
            return found
        for item in it.IdentityItem.batch_get(keys, consistent_read=consistent):
            if isinstance(item, it.TenantItem):
                found[item.id] = _tenant(item)
        return found

    def tenant_id_by_slug(self, slug: str) -> str | None:
        try:
            return str(it.SlugItem.get(it.slug_pk(slug), "SLUG").tenantId)
        except DoesNotExist:
            return None

    def update_tenant(self, tenant: Tenant, read_version: int, events: Sequence[DomainEvent]) -> None:
        """Set the tenant's name, metadata and status iff it is still at `read_version` (then bump
        it): a concurrent change makes this one fail with TENANT_CHANGED instead of overwriting it
        from a stale read. The status lives on the tenant item only — the authorizer and the write
        guard read it there — so no API key carries a copy that could go stale (ADR 0032)."""
        item = it.TenantItem
        unchanged = item.version == read_version
        if read_version == 0:
            unchanged = item.version.does_not_exist() | unchanged
        with refused_as(tenant_changed), self._transaction() as tx:
            tx.update(
                it.TenantItem(it.tenant_pk(tenant.id), it.PROFILE),
                actions=[
                    item.name.set(tenant.name),
                    item.meta.set(tenant.metadata),
                    item.status.set(tenant.status.value),
                    item.updatedAt.set(iso(tenant.updated_at)),
                    item.version.add(1),
                    # tenants written before the all-tenants index joined it: indexed on their next write
                    item.gsi4pk.set(it.ALL_TENANTS_GSI),
                    item.gsi4sk.set(it.tenant_pk(tenant.id)),
                ],
                condition=_exists() & unchanged,
            )
            self._outbox(tx, events)
        tenant.version = read_version + 1

    def tenant_status_counts(self) -> dict[str, int]:
        """How many tenants are in each status (the all-tenants index, gsi4: reads ∝ tenants)."""
        counts: dict[str, int] = {}
        for item in it.TenantItem.query(it.ALL_TENANTS_GSI, index_name=GSI4):
            counts[item.status] = counts.get(item.status, 0) + 1
        return counts

    # ------------------------------------------------------------------ memberships and invitations
    def save_invitation(self, invitation: Invitation, events: Sequence[DomainEvent]) -> None:
        """Store (or replace) the account's invitation to the tenant, unless it is a member."""
        with refused_as(already_a_member), self._transaction() as tx:
            tx.condition_check(
                it.MemberItem,
                it.user_pk(invitation.user_id),
                it.MEMBER_PREFIX + invitation.tenant_id,
                condition=_not_exists(),
            )
            tx.save(_invite_item(invitation))
            self._outbox(tx, events)

    def invitations_of(self, user_id: str) -> list[Invitation]:
        items = it.IdentityItem.query(
            it.user_pk(user_id), it.IdentityItem.sk.startswith(it.INVITE_PREFIX), consistent_read=True
        )
        return [_invitation(item) for item in items if isinstance(item, it.InviteItem)]

    def accept_invitation(
        self, invitation: Invitation, email: str, now: datetime, events: Sequence[DomainEvent]
    ) -> None:
        """Join the tenant iff the invitation is still this one, pending, unexpired and for `email`,
        the account is not a member yet and the tenant is ACTIVE — all in one transaction."""
        invite = it.InviteItem
        still_open = (
            (invite.id == invitation.id)
            & (invite.status == InvitationStatus.PENDING.value)
            & (invite.email == email)
            & (invite.expiresAt > epoch_s(now))
        )
        membership = Membership(invitation.tenant_id, invitation.user_id, invitation.role)
        tx = self._transaction()
        try:
            with tx:
                tx.update(
                    _invite_key(invitation),
                    actions=[
                        invite.status.set(InvitationStatus.ACCEPTED.value),
                        invite.respondedAt.set(iso(now)),
                    ],
                    condition=still_open,
                )
                tx.save(_member_item(membership, now), condition=_not_exists())
                tx.condition_check(
                    it.TenantItem,
                    it.tenant_pk(invitation.tenant_id),
                    it.PROFILE,
                    condition=it.TenantItem.status == TenantStatus.ACTIVE.value,
                )
                self._outbox(tx, events)
        except TransactWriteError as error:
            failed = failed_keys(tx, error)
            if (it.user_pk(invitation.user_id), it.MEMBER_PREFIX + invitation.tenant_id) in failed:
                raise already_a_member() from error
            if (it.tenant_pk(invitation.tenant_id), it.PROFILE) in failed:
                raise tenant_not_active() from error
            if failed:
                raise invitation_not_open() from error
            raise

    def decline_invitation(
        self, invitation: Invitation, now: datetime, events: Sequence[DomainEvent]
    ) -> None:
        invite = it.InviteItem
        pending = (invite.id == invitation.id) & (invite.status == InvitationStatus.PENDING.value)
        with refused_as(invitation_not_open), self._transaction() as tx:
            tx.update(
                _invite_key(invitation),
                actions=[
                    invite.status.set(InvitationStatus.DECLINED.value),
                    invite.respondedAt.set(iso(now)),
                ],
                condition=pending,
            )
            self._outbox(tx, events)

    def update_membership(
        self,
        current: Membership,
        updated: Membership,
        guard: Membership | None,
        events: Sequence[DomainEvent],
    ) -> None:
        """Set a membership's role and active flag iff it is still `current`, and — when `guard`
        is given — iff `guard` (the acting OWNER) still holds: two OWNERs demoting each other at
        once cannot leave the tenant without one (transactions are serializable)."""
        member = it.MemberItem
        with refused_as(membership_changed), self._transaction() as tx:
            tx.update(
                it.MemberItem(it.user_pk(current.user_id), it.MEMBER_PREFIX + current.tenant_id),
                actions=[member.role.set(updated.role.value), member.isActive.set(updated.is_active)],
                condition=_still(current),
            )
            self._guard(tx, guard)
            self._outbox(tx, events)

    def remove_membership(
        self, current: Membership, guard: Membership | None, events: Sequence[DomainEvent]
    ) -> None:
        """Delete a membership iff it is still `current` and `guard` still holds (see above)."""
        with refused_as(membership_changed), self._transaction() as tx:
            tx.delete(
                it.MemberItem(it.user_pk(current.user_id), it.MEMBER_PREFIX + current.tenant_id),
                condition=_still(current),
            )
            self._guard(tx, guard)
            self._outbox(tx, events)

    @staticmethod
    def _guard(tx: TransactWrite, guard: Membership | None) -> None:
        if guard is not None:
            tx.condition_check(
                it.MemberItem,
                it.user_pk(guard.user_id),
                it.MEMBER_PREFIX + guard.tenant_id,
                condition=_still(guard),
            )

    def set_account_active(
        self, user_id: str, active: bool, at: datetime, events: Sequence[DomainEvent]
    ) -> None:
        """A platform admin's switch on the account itself; deactivating also ends every session."""
        actions: list[Action] = [it.UserItem.isActive.set(active), it.UserItem.updatedAt.set(iso(at))]
        if not active:
            actions.append(it.UserItem.sessionVersion.add(1))
        with refused_as(lambda: NotFound("User not found", code="USER_NOT_FOUND")), self._transaction() as tx:
            tx.update(it.UserItem(it.user_pk(user_id), it.PROFILE), actions=actions, condition=_exists())
            self._outbox(tx, events)

    # ------------------------------------------------------------------ refresh and reset tokens
    def save_refresh_token(self, token: RefreshToken) -> None:
        it.RefreshItem(
            f"REFRESH#{token.token_hash}",
            "REFRESH",
            userId=token.user_id,
            sessionVersion=token.session_version,
            issuedAt=iso(token.issued_at),
            expiresAt=epoch_s(token.expires_at),
        ).save(condition=_not_exists())

    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        try:
            item = it.RefreshItem.get(f"REFRESH#{token_hash}", "REFRESH")
        except DoesNotExist:
            return None
        return RefreshToken(
            token_hash=token_hash,
            user_id=item.userId,
            session_version=int(item.sessionVersion),
            issued_at=parse_iso(item.issuedAt),
            expires_at=datetime.fromtimestamp(int(item.expiresAt or 0), tz=UTC),
            revoked=bool(item.revoked),
        )

    def rotate_refresh_token(self, old_hash: str, new: RefreshToken) -> None:
        """Revoke `old_hash` and store `new`, atomically; `RefreshReuse` if it was already revoked."""
        try:
            with self._transaction() as tx:
                tx.update(
                    it.RefreshItem(f"REFRESH#{old_hash}", "REFRESH"),
                    actions=[it.RefreshItem.revoked.set(True)],
                    condition=_exists() & (it.RefreshItem.revoked == False),  # noqa: E712
                )
                tx.save(
                    it.RefreshItem(
                        f"REFRESH#{new.token_hash}",
                        "REFRESH",
                        userId=new.user_id,
                        sessionVersion=new.session_version,
                        issuedAt=iso(new.issued_at),
                        expiresAt=epoch_s(new.expires_at),
                    ),
                    condition=_not_exists(),
                )
        except PynamoDBException as error:
            if condition_failed(error):
                raise RefreshReuse from error
            raise

    def revoke_refresh_token(self, token_hash: str) -> bool:
        item = it.RefreshItem(f"REFRESH#{token_hash}", "REFRESH")
        try:
            # the item may be inside a rotation's transaction right now: a conflict is retried
            retrying(lambda: item.update(actions=[it.RefreshItem.revoked.set(True)], condition=_exists()))
        except PynamoDBException as error:
            if condition_failed(error):
                return False
            raise
        return True

    def save_reset_token(self, token_hash: str, user_id: str, expires_at: datetime) -> None:
        it.ResetItem(f"RESET#{token_hash}", "RESET", userId=user_id, expiresAt=epoch_s(expires_at)).save()

    def consume_reset_token(self, token_hash: str, now: datetime, password_hash: str, events_for: Any) -> str:
        """Use a reset token once: delete it (if unexpired), set the password, revoke sessions."""
        try:
            item = it.ResetItem.get(f"RESET#{token_hash}", "RESET")
        except DoesNotExist as error:
            raise Unauthenticated("Invalid or expired reset token", code="INVALID_RESET_TOKEN") from error
        user_id = str(item.userId)
        try:
            with self._transaction() as tx:
                tx.delete(item, condition=_exists() & (it.ResetItem.expiresAt > epoch_s(now)))
                tx.update(
                    it.UserItem(it.user_pk(user_id), it.PROFILE),
                    actions=[
                        it.UserItem.passwordHash.set(password_hash),
                        it.UserItem.sessionVersion.add(1),
                        it.UserItem.updatedAt.set(iso(now)),
                    ],
                    condition=_exists(),
                )
                self._outbox(tx, events_for(user_id))
        except PynamoDBException as error:
            if condition_failed(error):
                raise Unauthenticated("Invalid or expired reset token", code="INVALID_RESET_TOKEN") from error
            raise
        return user_id

    # ------------------------------------------------------------------ API keys
    def save_api_key(self, key: ApiKey, events: Sequence[DomainEvent]) -> None:
        with self._transaction() as tx:
            tx.save(
                it.ApiKeyItem(
                    f"APIKEY#{key.key_hash}",
                    "APIKEY",
                    id=key.id,
                    tenantId=key.tenant_id,
                    name=key.name,
                    prefix=key.prefix,
                    createdAt=iso(key.created_at),
                    createdBy=key.created_by,
                    keyExpiresAt=iso(key.expires_at) if key.expires_at else None,
                    gsi1pk=it.api_keys_gsi(key.tenant_id),
                    gsi1sk=f"{iso(key.created_at)}#{key.id}",
                ),
                condition=_not_exists(),
            )
            self._outbox(tx, events)

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        try:
            return _api_key(it.ApiKeyItem.get(f"APIKEY#{key_hash}", "APIKEY"))
        except DoesNotExist:
            return None

    def api_keys_of(self, tenant_id: str) -> list[ApiKey]:
        return [
            _api_key(item)
            for item in it.IdentityItem.query(it.api_keys_gsi(tenant_id), index_name=GSI1)
            if isinstance(item, it.ApiKeyItem)
        ]

    def revoke_api_key(self, key: ApiKey, at: datetime, events: Sequence[DomainEvent]) -> None:
        with self._transaction() as tx:
            tx.update(
                it.ApiKeyItem(f"APIKEY#{key.key_hash}", "APIKEY"),
                actions=[it.ApiKeyItem.revokedAt.set(iso(at))],
                condition=_exists(),
            )
            self._outbox(tx, events)

    # ------------------------------------------------------------------ rate limits
    def hit_window(self, scope: str, subject: str, window_start: datetime, window: timedelta) -> int:
        """Count one hit in a fixed window (atomic ADD); the window's count after it."""
        item = it.RateWindowItem(f"RATE#{scope}#{subject}", f"WINDOW#{epoch_s(window_start)}")
        item.update(
            actions=[
                it.RateWindowItem.hits.add(1),
                it.RateWindowItem.expiresAt.set(epoch_s(window_start + 2 * window)),
                it.RateWindowItem.kind.set(it.RateWindowItem),
            ]
        )
        return int(item.hits or 0)

    def reserve_hit(
        self, scope: str, subject: str, window_start: datetime, window: timedelta, max_hits: int
    ) -> bool:
        """Count one hit iff the window has fewer than `max_hits` (one conditional ADD)."""
        item = it.RateWindowItem(f"RATE#{scope}#{subject}", f"WINDOW#{epoch_s(window_start)}")
        hits = it.RateWindowItem.hits
        try:
            item.update(
                actions=[
                    hits.add(1),
                    it.RateWindowItem.expiresAt.set(epoch_s(window_start + 2 * window)),
                    it.RateWindowItem.kind.set(it.RateWindowItem),
                ],
                condition=hits.does_not_exist() | (hits < max_hits),
            )
        except PynamoDBException as error:
            if condition_failed(error):
                return False
            raise
        return True

    def release_hit(self, scope: str, subject: str, window_start: datetime) -> None:
        item = it.RateWindowItem(f"RATE#{scope}#{subject}", f"WINDOW#{epoch_s(window_start)}")
        try:
            item.update(actions=[it.RateWindowItem.hits.add(-1)], condition=it.RateWindowItem.hits > 0)
        except PynamoDBException as error:
            if not condition_failed(error):  # the window expired meanwhile: nothing to give back
                raise
