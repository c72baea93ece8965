"""Typed models of the Meterplex API (camelCase on the wire, snake_case attributes)."""

from meterplex_client.models.base import Message, Page, PageMeta
from meterplex_client.models.billing import Balance, Invoice, LedgerEntry, LineItem, Payment, Refund
from meterplex_client.models.catalog import Feature, Plan, PlanEntitlement, Price
from meterplex_client.models.entitlements import ConsumeResult, EntitlementCheck
from meterplex_client.models.identity import (
    ApiKey,
    ApiKeyCreated,
    Invitation,
    InvitationCreated,
    LoginResult,
    Member,
    RegisterResult,
    Tenant,
    TenantContext,
    TenantWithRole,
    TokenPair,
    User,
    UserWithMembership,
)
from meterplex_client.models.platform import AuditEvent, ClockState, Health
from meterplex_client.models.subscriptions import Subscription
from meterplex_client.models.usage import EventStatus, UsageBatchResult, UsageEvent
from meterplex_client.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEndpointCreated

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "AuditEvent",
    "Balance",
    "ClockState",
    "ConsumeResult",
    "EntitlementCheck",
    "EventStatus",
    "Feature",
    "Health",
    "Invitation",
    "InvitationCreated",
    "Invoice",
    "LedgerEntry",
    "LineItem",
    "LoginResult",
    "Member",
    "Message",
    "Page",
    "PageMeta",
    "Payment",
    "Plan",
    "PlanEntitlement",
    "Price",
    "Refund",
    "RegisterResult",
    "Subscription",
    "Tenant",
    "TenantContext",
    "TenantWithRole",
    "TokenPair",
    "UsageBatchResult",
    "UsageEvent",
    "User",
    "UserWithMembership",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointCreated",
]
