"""The tenants SDK e2e tests run as: a plan with METERED, HARD QUOTA and BOOLEAN features
(`SdkPlan`), and a subscribed tenant with its API key and an owner's session (`SdkTenant`).
The fixtures that make them are in tests/e2e/sdk/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass

from meterplex_client import Meterplex

ADMIN = {"email": "admin@meterplex.local", "password": "Admin12345!"}  # infra.local.cloud defaults
QUOTA_LIMIT = 5


@dataclass(frozen=True)
class SdkPlan:
    url: str
    plan_id: str
    price_id: str
    metered: str  # METERED, 0 included: `used` counts every event
    quota: str  # QUOTA HARD, limit QUOTA_LIMIT
    flag: str  # BOOLEAN, true


@dataclass(frozen=True)
class SdkTenant:
    url: str
    tenant_id: str
    api_key: str
    access_token: str
    refresh_token: str
    plan: SdkPlan

    def client(self, **kwargs: object) -> Meterplex:
        return Meterplex(api_key=self.api_key, base_url=self.url, **kwargs)  # type: ignore[arg-type]

    def member(self) -> Meterplex:
        return Meterplex(
            base_url=self.url,
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            tenant_id=self.tenant_id,
        )
