"""GET /entitlements/{featureKey}/check and POST /entitlements/{featureKey}/consume (the hot path).

Any member of the tenant (JWT + x-tenant-id) or the tenant's API key may call them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import Field

from meterplex.entitlements.service import EntitlementService
from meterplex.platform.api import ApiModel, principal_of, tenant_header_of
from meterplex.platform.auth import tenant_access
from meterplex.platform.limits import KeyPart

router = Router()
TAGS = ["Entitlement checks"]
FeatureKey = Annotated[str, Path(max_length=100, description="The feature's lookup key")]


class ConsumeRequest(ApiModel):
    amount: Annotated[int, Field(ge=1, le=1_000_000_000)] = 1
    idempotency_key: KeyPart | None = Field(
        None,
        description="A repeated key returns the first answer and counts nothing; the same key with"
        " another feature or amount is 409 IDEMPOTENCY_KEY_REUSED",
    )


@cache
def entitlement_service() -> EntitlementService:
    from meterplex.entitlements.store import GrantStore

    return EntitlementService(GrantStore())


def _tenant_id() -> str:
    return tenant_access(principal_of(router), tenant_header_of(router)).tenant_id


@router.get(
    "/api/v1/entitlements/<feature_key>/check",
    summary="May the tenant use the feature? Always 200; one DynamoDB read",
    tags=TAGS,
)
def check(
    feature_key: FeatureKey, amount: Annotated[int, Query(ge=1, le=1_000_000_000)] = 1
) -> dict[str, Any]:
    return entitlement_service().check(_tenant_id(), feature_key, amount)


@router.post(
    "/api/v1/entitlements/<feature_key>/consume",
    summary="Consume units: 404 not in plan, 403 BOOLEAN or QUOTA_EXCEEDED; one conditional write",
    tags=TAGS,
)
def consume(feature_key: FeatureKey, body: Annotated[ConsumeRequest | None, Body()] = None) -> dict[str, Any]:
    request = body or ConsumeRequest()
    return entitlement_service().consume(_tenant_id(), feature_key, request.amount, request.idempotency_key)
