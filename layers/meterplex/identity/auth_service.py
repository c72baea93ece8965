"""Authentication rules (SPEC §1): register, login, token refresh with reuse detection, password
change and reset, logout, revoke-all. Passwords and tokens are never logged or returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meterplex.identity import rate_limits, tokens
from meterplex.identity.models import Membership, RefreshToken, Tenant, TokenPair, User
from meterplex.identity.passwords import burn_time, hash_password, password_problem, verify_password
from meterplex.identity.repository import IdentityRepository, RefreshReuse
from meterplex.identity.signing_key import jwt_signing_key
from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.auth import Role
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.errors import FieldError, InvalidInput, NotFound, Unauthenticated
from meterplex.platform.ids import new_id
from meterplex.platform.observability import logger
from meterplex.platform.settings import IdentitySettings, load

INVALID_CREDENTIALS = "Invalid email or password"
MINUTE = timedelta(minutes=1)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_password_policy(password: str, field_name: str) -> None:
    problem = password_problem(password)
    if problem:
        raise InvalidInput(
            "The password is too weak", details=[FieldError(field_name, f"Password {problem}")]
        )


def new_user(
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    *,
    now: datetime,
    bcrypt_rounds: int,
    platform_admin: bool = False,
) -> User:
    """A new account: email normalized, password checked against the policy and hashed."""
    check_password_policy(password, "password")
    return User(
        id=new_id(),
        email=normalize_email(email),
        password_hash=hash_password(password, bcrypt_rounds),
        first_name=first_name,
        last_name=last_name,
        is_platform_admin=platform_admin,
        created_at=now,
        updated_at=now,
    )


@dataclass
class IdentityDeps:
    """What identity services need; tests pass fakes or a fixed clock."""

    repo: IdentityRepository = field(default_factory=IdentityRepository)
    clock: Clock = system_clock
    settings: IdentitySettings = field(default_factory=lambda: load(IdentitySettings))


class AuthService:
    def __init__(self, deps: IdentityDeps) -> None:
        self.repo, self.clock, self.settings = deps.repo, deps.clock, deps.settings
        s = self.settings
        self.login_ip_limit = rate_limits.Limit("login-ip", s.login_per_ip_per_minute, MINUTE)
        self.login_failure_limit = rate_limits.Limit(
            "login-fail", s.login_failures_per_email, timedelta(seconds=s.login_failure_window_s)
        )
        self.register_limit = rate_limits.Limit("register-ip", s.register_per_ip_per_minute, MINUTE)
        self.forgot_limit = rate_limits.Limit("forgot-ip", s.forgot_per_ip_per_minute, MINUTE)

    # ------------------------------------------------------------------ tokens
    def issue_pair(self, user: User) -> TokenPair:
        now = self.clock.now()
        access = tokens.issue_access_token(
            user_id=user.id,
            email=user.email,
            session_version=user.session_version,
            now=now,
            signing_key=jwt_signing_key(),
        )
        refresh = tokens.new_refresh_token()
        self.repo.save_refresh_token(self._refresh_record(refresh, user))
        return TokenPair(access, refresh)

    def _refresh_record(self, refresh: str, user: User) -> RefreshToken:
        now = self.clock.now()
        return RefreshToken(
            token_hash=tokens.sha256_hex(refresh),
            user_id=user.id,
            session_version=user.session_version,
            issued_at=now,
            expires_at=now + tokens.REFRESH_TTL,
        )

    # ------------------------------------------------------------------ flows
    def register(
        self,
        *,
        email: str,
        password: str,
        first_name: str,
        last_name: str,
        tenant_name: str,
        tenant_slug: str,
        actor: Actor,
    ) -> tuple[TokenPair, User, Tenant]:
        now = self.clock.now()
        rate_limits.consume(self.repo, self.register_limit, actor.ip or "unknown", now)
        user = new_user(
            email, password, first_name, last_name, now=now, bcrypt_rounds=self.settings.bcrypt_rounds
        )
        tenant = Tenant(id=new_id(), name=tenant_name, slug=tenant_slug, created_at=now, updated_at=now)
        who = Actor(f"user:{user.id}", actor.correlation_id, actor.ip)
        events = [
            audit.event(
                "user.registered",
                actor=who,
                at=now,
                tenant_id=tenant.id,
                resource="user",
                resource_id=user.id,
                changes={"email": user.email, "firstName": first_name, "lastName": last_name},
            ),
            audit.event(
                "tenant.created",
                actor=who,
                at=now,
                tenant_id=tenant.id,
                resource="tenant",
                resource_id=tenant.id,
                changes={"name": tenant_name, "slug": tenant_slug, "ownerId": user.id},
            ),
        ]
        self.repo.register(user, tenant, Membership(tenant.id, user.id, Role.OWNER), events)
        logger.info("user registered", user_id=user.id, tenant_id=tenant.id)
        return self.issue_pair(user), user, tenant

    def login(self, *, email: str, password: str, actor: Actor) -> tuple[TokenPair, User]:
        now = self.clock.now()
        email = normalize_email(email)
        rate_limits.consume(self.repo, self.login_ip_limit, actor.ip or "unknown", now)
        # The attempt takes a slot of the email's failure budget BEFORE the password is checked, so
        # parallel guesses cannot all pass; a success gives the slot back (ADR 0030).
        rate_limits.reserve(self.repo, self.login_failure_limit, email, now)
        user_id = self.repo.user_id_by_email(email)
        user = self.repo.get_user(user_id) if user_id else None
        if user is None:
            burn_time(password)  # same cost as a real check: no email enumeration by timing
        if user is None or not verify_password(password, user.password_hash) or not user.is_active:
            logger.info("login failed", reason="credentials")
            raise Unauthenticated(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
        rate_limits.release(self.repo, self.login_failure_limit, email, now)
        return self.issue_pair(user), user

    def refresh(self, refresh_token: str) -> TokenPair:
        now = self.clock.now()
        token_hash = tokens.sha256_hex(refresh_token)
        record = self.repo.refresh_token(token_hash)
        if record is None or record.expires_at <= now:
            raise Unauthenticated("Invalid or expired refresh token", code="INVALID_REFRESH_TOKEN")
        if record.revoked:
            self._reuse_detected(record.user_id)
        user = self.repo.get_user(record.user_id)
        if user is None or not user.is_active or user.session_version != record.session_version:
            raise Unauthenticated("Invalid or expired refresh token", code="INVALID_REFRESH_TOKEN")
        new_refresh = tokens.new_refresh_token()
        try:
            self.repo.rotate_refresh_token(token_hash, self._refresh_record(new_refresh, user))
        except RefreshReuse:
            self._reuse_detected(record.user_id)  # lost a race with another use of the same token
        access = tokens.issue_access_token(
            user_id=user.id,
            email=user.email,
            session_version=user.session_version,
            now=now,
            signing_key=jwt_signing_key(),
        )
        return TokenPair(access, new_refresh)

    def _reuse_detected(self, user_id: str) -> None:
        self._revoke_sessions(user_id, audit.SYSTEM, reason="refresh_token_reuse")
        logger.warning("refresh token reuse detected; all sessions revoked", user_id=user_id)
        raise Unauthenticated(
            "Refresh token reuse detected; all sessions revoked", code="REFRESH_TOKEN_REUSED"
        )

    def me(self, user_id: str) -> User:
        user = self.repo.get_user(user_id)
        if user is None:
            raise NotFound("User not found", code="USER_NOT_FOUND")
        return user

    def change_password(self, user_id: str, current: str, new: str, actor: Actor) -> TokenPair:
        user = self.me(user_id)
        if not verify_password(current, user.password_hash):
            raise Unauthenticated("The current password is wrong", code="INVALID_CREDENTIALS")
        check_password_policy(new, "newPassword")
        now = self.clock.now()
        event = audit.event(
            "user.password_changed",
            actor=actor,
            at=now,
            tenant_id=None,
            resource="user",
            resource_id=user_id,
            changes={"password": "changed"},
        )
        user.session_version = self.repo.bump_session_version(
            user_id, now, [event], password_hash=hash_password(new, self.settings.bcrypt_rounds)
        )
        return self.issue_pair(user)

    def forgot_password(self, email: str, actor: Actor) -> None:
        """Always the same answer; the token goes out of band (logged only in local mode)."""
        now = self.clock.now()
        rate_limits.consume(self.repo, self.forgot_limit, actor.ip or "unknown", now)
        user_id = self.repo.user_id_by_email(normalize_email(email))
        if user_id is None:
            return
        token = tokens.new_reset_token()
        self.repo.save_reset_token(tokens.sha256_hex(token), user_id, now + tokens.RESET_TTL)
        if self.settings.expose_reset_token and self.settings.is_local:
            # Local development only: there is no mailer, so the developer reads the token here.
            logger.info("password reset token issued (local only)", user_id=user_id, reset_token=token)
        else:
            logger.info("password reset token issued", user_id=user_id)

    def reset_password(self, token: str, new_password: str, request: Actor = audit.SYSTEM) -> None:
        """`request`: the anonymous caller's correlation id and IP; the actor is the token's user."""
        check_password_policy(new_password, "newPassword")
        now = self.clock.now()

        def events_for(user_id: str) -> list:
            return [
                audit.event(
                    "user.password_reset",
                    actor=Actor(f"user:{user_id}", request.correlation_id, request.ip),
                    at=now,
                    tenant_id=None,
                    resource="user",
                    resource_id=user_id,
                    changes={"password": "reset"},
                )
            ]

        self.repo.consume_reset_token(
            tokens.sha256_hex(token),
            now,
            hash_password(new_password, self.settings.bcrypt_rounds),
            events_for,
        )

    def logout(self, user_id: str, refresh_token: str) -> None:
        record = self.repo.refresh_token(tokens.sha256_hex(refresh_token))
        if record is None or record.user_id != user_id:
            return  # nothing of the caller's to revoke; answer the same either way
        self.repo.revoke_refresh_token(record.token_hash)

    def revoke_all(self, user_id: str, actor: Actor) -> None:
        self._revoke_sessions(user_id, actor, reason="revoke_all")

    def _revoke_sessions(self, user_id: str, actor: Actor, *, reason: str) -> None:
        """Bump the session version: every access and refresh token of the user dies at once."""
        now = self.clock.now()
        event = audit.event(
            "user.sessions_revoked",
            actor=actor,
            at=now,
            tenant_id=None,
            resource="user",
            resource_id=user_id,
            changes={"reason": reason},
        )
        self.repo.bump_session_version(user_id, now, [event])
