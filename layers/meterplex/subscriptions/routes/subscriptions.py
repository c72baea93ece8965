"""Subscriptions of the caller's tenant: OWNER/ADMIN subscribe and cancel; members read."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.platform.api import AUTH_TENANT, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, TenantAccess, tenant_access
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate
from meterplex.subscriptions.schemas import (
    CancelRequest,
    SubscribeRequest,
    SubscriptionOut,
    SubscriptionPage,
    subscription_out,
)
from meterplex.subscriptions.service import SubscriptionService
from meterplex.subscriptions.standing import read_standing

router = Router()
TAGS = ["Subscriptions"]


@cache
def subscription_service() -> SubscriptionService:
    from meterplex.catalog.dependencies import catalog_service
    from meterplex.subscriptions.repository import DynamoSubscriptionRepository

    return SubscriptionService(DynamoSubscriptionRepository(), catalog_service())


def _access(*, manage: bool = False) -> TenantAccess:
    return tenant_access(principal_of(router), tenant_header_of(router), roles=MANAGERS if manage else None)


@router.post(
    "/api/v1/subscriptions",
    summary="Subscribe (a live subscription is a plan change)",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=201,
)
def subscribe(body: Annotated[SubscribeRequest, Body()]) -> Response[SubscriptionOut]:
    # OWNER/ADMIN of the tenant, or a platform admin acting for it (the one who may pick a private plan)
    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router), roles=MANAGERS, platform_admin_acts=True)
    sub = subscription_service().subscribe(
        access.tenant_id,
        plan_id=body.plan_id,
        price_id=body.price_id,
        trial_days=body.trial_days,
        by_platform_admin=principal.is_platform_admin,
        actor=actor_of(router, principal),
    )
    return Response(status_code=201, content_type="application/json", body=subscription_out(sub))


@router.get(
    "/api/v1/subscriptions/active",
    summary="The tenant's ACTIVE/TRIALING subscription",
    tags=TAGS,
    security=AUTH_TENANT,
)
def active_subscription() -> SubscriptionOut:
    tenant_id = _access().tenant_id
    return subscription_out(subscription_service().active(tenant_id), read_standing(tenant_id).level)


@router.get(
    "/api/v1/subscriptions", summary="Subscription history, newest first", tags=TAGS, security=AUTH_TENANT
)
def list_subscriptions(
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> SubscriptionPage:
    tenant_id = _access().tenant_id
    level = read_standing(tenant_id).level
    subs = [subscription_out(s, level) for s in subscription_service().history(tenant_id)]
    return SubscriptionPage.model_validate(paginate(subs, page, limit))


@router.post(
    "/api/v1/subscriptions/<subscriptionId>/cancel",
    summary="Cancel now (prorated final invoice) or at period end (full last invoice)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def cancel_subscription(
    subscriptionId: Annotated[str, Path(max_length=100)],
    body: Annotated[CancelRequest | None, Body()] = None,
) -> SubscriptionOut:
    access = _access(manage=True)
    request = body or CancelRequest()
    sub = subscription_service().cancel(
        access.tenant_id,
        subscriptionId,
        at_period_end=request.at_period_end,
        actor=actor_of(router, access.principal),
    )
    return subscription_out(sub)
