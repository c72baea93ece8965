"""The payments capability wired to DynamoDB and the configured provider, once per process."""

from __future__ import annotations

from functools import cache
from typing import Any

from meterplex.payments.collection import Collector, Intake
from meterplex.payments.processor import EventProcessor, Policy
from meterplex.payments.provider import PaymentProvider
from meterplex.payments.repository import PaymentsRepository
from meterplex.payments.service import PaymentsService
from meterplex.platform.settings import PaymentSettings, load


@cache
def settings() -> PaymentSettings:
    return load(PaymentSettings)


@cache
def repository() -> PaymentsRepository:
    return PaymentsRepository()


@cache
def provider() -> PaymentProvider:
    from meterplex.payments.providers import provider_from

    return provider_from(settings())


def providers_by_name() -> dict[str, PaymentProvider]:
    """The webhook receivers: the configured provider, and the fake outside production."""
    from meterplex.payments.fake import FakeProvider

    found: dict[str, PaymentProvider] = {} if settings().stage == "prod" else {"fake": FakeProvider()}
    found[provider().name] = provider()
    return found


class Tenants:
    """How a tenant collects (identity's tenant: `collection`, `metadata`)."""

    def collection_of(self, tenant_id: str) -> tuple[bool, dict[str, Any]]:
        from meterplex.identity.models import Collection
        from meterplex.identity.repository import IdentityRepository

        tenant = IdentityRepository().get_tenant(tenant_id)
        if tenant is None:
            return True, {}
        return tenant.collection is Collection.AUTOMATIC, dict(tenant.metadata)


def _subscriptions() -> Any:
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository

    return DynamoSubscriptionRepository()


@cache
def intake() -> Intake:
    return Intake(repository())


@cache
def processor() -> EventProcessor:
    s = settings()
    return EventProcessor(repository(), _subscriptions(), Policy(s.retry_days, s.exhausted == "cancel"))


@cache
def collector() -> Collector:
    return Collector(repository(), provider(), Tenants(), _subscriptions())


@cache
def payments_service() -> PaymentsService:
    return PaymentsService(repository(), provider())
