"""`Meterplex` and `AsyncMeterplex`: the same resources, blocking or awaitable (ADR 0055)."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic

import httpx

from meterplex_client import __version__
from meterplex_client.cache import EntitlementCache
from meterplex_client.core import ClientCore, FailMode
from meterplex_client.endpoint import Async, M, Sync
from meterplex_client.resources.billing import Billing, Invoices
from meterplex_client.resources.catalog import Features, PlanEntitlements, Plans, Prices
from meterplex_client.resources.entitlements import Entitlements
from meterplex_client.resources.identity import ApiKeys, Auth, Tenants, Users
from meterplex_client.resources.platform import AuditEventsResource, Clock, Platform
from meterplex_client.resources.subscriptions import Subscriptions
from meterplex_client.resources.usage import Usage
from meterplex_client.resources.webhooks import WebhookEndpoints
from meterplex_client.transport import AsyncDriver, RetryPolicy, Session, SyncDriver
from meterplex_client.usage.tracker import UsageOptions

DEFAULT_BASE_URL = "http://127.0.0.1:3000"
BASE_URL_ENV = "MP_BASE_URL"
API_KEY_ENV = "MP_API_KEY"


class _Client(Generic[M]):
    """Everything both clients share: the constructor and every resource (the SDK's vocabulary)."""

    _blocking_track = True

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        tenant_id: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        entitlement_cache: EntitlementCache | None = None,
        fail_mode: FailMode = "raise",
        usage: UsageOptions | None = None,
        on_tokens: Callable[[str, str], None] | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
    ) -> None:
        """`api_key` (or `MP_API_KEY`), or a JWT session (`access_token`, `refresh_token`,
        `tenant_id`); `base_url` (or `MP_BASE_URL`). `entitlement_cache` turns on the local cache
        (ADR 0057); `fail_mode` says what `check` and `consume` answer when the API is
        unreachable; `usage` tunes tracking (ADR 0056); `on_tokens` sees every rotated pair."""
        if api_key is None and access_token is None and refresh_token is None:
            api_key = os.environ.get(API_KEY_ENV) or None
        session = Session(
            base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
            api_key=api_key,
            access_token=access_token,
            refresh_token=refresh_token,
            tenant_id=tenant_id,
            timeout_s=timeout,
            retry=RetryPolicy(max_retries=max_retries),
            user_agent=f"meterplex-client/{__version__}",
            on_tokens=on_tokens,
        )
        core = ClientCore(
            session,
            self._start_driver(http_client),
            sync_driver=self._usage_driver,
            cache=entitlement_cache,
            fail_mode=fail_mode,
            usage=usage or UsageOptions(),
            blocking_track=self._blocking_track,
        )
        self._core = core
        self.auth: Auth[M] = Auth(core)
        self.tenants: Tenants[M] = Tenants(core)
        self.users: Users[M] = Users(core)
        self.api_keys: ApiKeys[M] = ApiKeys(core)
        self.plans: Plans[M] = Plans(core)
        self.prices: Prices[M] = Prices(core)
        self.features: Features[M] = Features(core)
        self.plan_entitlements: PlanEntitlements[M] = PlanEntitlements(core)
        self.subscriptions: Subscriptions[M] = Subscriptions(core)
        self.entitlements: Entitlements[M] = Entitlements(core)
        self.usage: Usage[M] = Usage(core)
        self.invoices: Invoices[M] = Invoices(core)
        self.billing: Billing[M] = Billing(core)
        self.webhook_endpoints: WebhookEndpoints[M] = WebhookEndpoints(core)
        self.audit_events: AuditEventsResource[M] = AuditEventsResource(core)
        self.clock: Clock[M] = Clock(core)
        self.platform: Platform[M] = Platform(core)

    def _start_driver(self, http_client: httpx.Client | httpx.AsyncClient | None) -> Callable[[Any], Any]:
        raise NotImplementedError

    def _usage_driver(self) -> SyncDriver:
        raise NotImplementedError

    @property
    def session(self) -> Session:
        """Base URL and credentials in use (tokens change on login and refresh)."""
        return self._core.session


class Meterplex(_Client[Sync]):
    """The blocking client.

    mp = Meterplex(api_key="mp_live_…")            # or MP_API_KEY; MP_BASE_URL for the URL
    if mp.entitlements.check("sso").allowed: …
    mp.usage.track("api_calls", 1)
    """

    def _start_driver(self, http_client: httpx.Client | httpx.AsyncClient | None) -> Callable[[Any], Any]:
        if isinstance(http_client, httpx.AsyncClient):
            raise TypeError("Meterplex takes an httpx.Client; use AsyncMeterplex for httpx.AsyncClient")
        self._driver = SyncDriver(http_client or httpx.Client())
        return self._driver.run

    def _usage_driver(self) -> SyncDriver:
        return self._driver  # httpx.Client is thread-safe: the sender thread shares it

    def close(self) -> None:
        """Flush tracked usage (what cannot be sent stays on disk) and close the connections."""
        self._core.close_tracker()
        self._driver.close()

    def __enter__(self) -> Meterplex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncMeterplex(_Client[Async]):
    """The asyncio client: the same resources, every API method awaitable. `usage.track()` stays a
    plain call that never blocks the loop; `await mp.usage.flush()` sends (ADR 0056)."""

    _blocking_track = False

    def _start_driver(self, http_client: httpx.Client | httpx.AsyncClient | None) -> Callable[[Any], Any]:
        if isinstance(http_client, httpx.Client):
            raise TypeError("AsyncMeterplex takes an httpx.AsyncClient; use Meterplex for httpx.Client")
        self._driver = AsyncDriver(http_client or httpx.AsyncClient())
        self._sync: SyncDriver | None = None
        return self._driver.run

    def _usage_driver(self) -> SyncDriver:
        # The usage sender runs in a thread (or a worker thread at flush): blocking httpx there.
        if self._sync is None:
            self._sync = SyncDriver(httpx.Client())
        return self._sync

    async def close(self) -> None:
        import asyncio

        await asyncio.to_thread(self._core.close_tracker)
        if self._sync is not None:
            self._sync.close()
        await self._driver.close()

    async def __aenter__(self) -> AsyncMeterplex:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


__all__ = ["AsyncMeterplex", "Meterplex"]
