"""Identity's HTTP routes, one Router per resource (served by functions/identity_api)."""

from meterplex.identity.api_keys_service import ApiKeyService
from meterplex.identity.auth_service import AuthService, IdentityDeps
from meterplex.identity.memberships_service import MembershipService
from meterplex.identity.tenants_service import TenantService
from meterplex.identity.users_service import UserService


class Services:
    """The identity services of this process, built once (on first use) and shared by the routers."""

    _deps: IdentityDeps | None = None

    @classmethod
    def deps(cls) -> IdentityDeps:
        if cls._deps is None:
            cls._deps = IdentityDeps()
        return cls._deps

    @classmethod
    def auth(cls) -> AuthService:
        return AuthService(cls.deps())

    @classmethod
    def tenants(cls) -> TenantService:
        return TenantService(cls.deps())

    @classmethod
    def users(cls) -> UserService:
        return UserService(cls.deps())

    @classmethod
    def memberships(cls) -> MembershipService:
        return MembershipService(cls.deps())

    @classmethod
    def api_keys(cls) -> ApiKeyService:
        return ApiKeyService(cls.deps())

    @classmethod
    def use(cls, deps: IdentityDeps) -> None:
        """Tests: swap the dependencies (e.g. a fixed clock)."""
        cls._deps = deps
