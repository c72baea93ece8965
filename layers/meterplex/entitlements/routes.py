"""GET /entitlements/{featureKey}/check and POST /entitlements/{featureKey}/consume (the hot path).

Any member of the tenant (JWT + x-tenant-id) or the tenant's API key may call them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.entitlements.schemas import Amount, CheckOut, ConsumeOut, ConsumeRequest, check_out
from meterplex.entitlements.service import EntitlementService
from meterplex.platform import business_metrics
from meterplex.platform.api import AUTH_TENANT, principal_of, tenant_header_of
from meterplex.platform.auth import tenant_access
from meterplex.platform.errors import Forbidden, NotFound, PaymentRequired
from meterplex.platform.observability import metrics

router = Router()
TAGS = ["Entitlement checks"]
# What the service answers a consume it will not count (QUOTA_EXCEEDED, FEATURE_NOT_CONSUMABLE,
# PAYMENT_REQUIRED, FEATURE_NOT_IN_PLAN): `ConsumeRejected`. Contention (503) and a reused
# idempotency key (409) are not refusals of the feature.
REFUSALS = (Forbidden, NotFound, PaymentRequired)
FeatureKey = Annotated[str, Path(max_length=100, description="The feature's lookup key")]


@cache
def entitlement_service() -> EntitlementService:
    from meterplex.entitlements.store import GrantStore

    return EntitlementService(GrantStore())


def _tenant_id(*, write: bool = False) -> str:
    """The caller's tenant. A consume is a write, refused in a SUSPENDED/CANCELLED tenant from the
    authorizer's context (no re-read: the hot path's budget; bounded by the cache TTL, ADR 0031)."""
    return tenant_access(principal_of(router), tenant_header_of(router), write=write).tenant_id


@router.get(
    "/api/v1/entitlements/<featureKey>/check",
    summary="May the tenant use the feature? Always 200; one DynamoDB read",
    tags=TAGS,
    security=AUTH_TENANT,
)
def check(featureKey: FeatureKey, amount: Annotated[Amount, Query()] = 1) -> CheckOut:
    return check_out.validate_python(entitlement_service().check(_tenant_id(), featureKey, amount))


@router.post(
    "/api/v1/entitlements/<featureKey>/consume",
    summary="Consume units: 404 not in plan, 403 BOOLEAN or QUOTA_EXCEEDED; one conditional write",
    tags=TAGS,
    security=AUTH_TENANT,
)
def consume(featureKey: FeatureKey, body: Annotated[ConsumeRequest | None, Body()] = None) -> ConsumeOut:
    request = body or ConsumeRequest()
    tenant_id = _tenant_id(write=True)
    try:
        answer = entitlement_service().consume(tenant_id, featureKey, request.amount, request.idempotency_key)
    except REFUSALS as refusal:
        business_metrics.count(business_metrics.CONSUME_REJECTED)
        metrics.add_metadata(key="refusal", value=refusal.code)  # a property, not a dimension
        raise
    return ConsumeOut.model_validate(answer)
