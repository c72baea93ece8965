"""/api/v1/webhook-endpoints (SPEC §8.3): a tenant's outbound webhook endpoints, their delivery
log, test events and manual retries. OWNER/ADMIN with a user token (API keys are refused);
another tenant's endpoint or delivery is 404."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.platform.api import AUTH_TENANT, JSON, actor_of, principal_of, tenant_header_of
from meterplex.platform.audit import Actor
from meterplex.platform.auth import MANAGERS, TenantAccess, tenant_access
from meterplex.platform.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    PageLimit,
    PageNumber,
    page_of,
    paginate,
)
from meterplex.webhooks.dependencies import webhook_service
from meterplex.webhooks.schemas import (
    CreateEndpointRequest,
    DeliveryOut,
    DeliveryPage,
    EndpointCreatedOut,
    EndpointOut,
    EndpointPage,
    SecretOut,
    TestEventOut,
    UpdateEndpointRequest,
    delivery_out,
    endpoint_out,
)
from meterplex.webhooks.service import EndpointChanges

router = Router()
TAGS = ["Webhook endpoints"]
PREFIX = "/api/v1/webhook-endpoints"
EndpointId = Annotated[str, Path(min_length=1, max_length=100, description="The endpoint's id")]
DeliveryId = Annotated[str, Path(min_length=1, max_length=100, description="The delivery's id")]


def _access() -> TenantAccess:
    return tenant_access(principal_of(router), tenant_header_of(router), roles=MANAGERS)


def _acting() -> tuple[TenantAccess, Actor]:
    """The caller's access to the tenant, and who they are for the audit trail of their write."""
    access = _access()
    return access, actor_of(router, access.principal)


@router.post(
    PREFIX,
    summary="Register an endpoint; the signing secret (`whsec_…`) is shown only in this answer",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=201,
    responses={201: {"description": "The endpoint, with its secret"}},
)
def create_endpoint(body: Annotated[CreateEndpointRequest, Body()]) -> Response[EndpointCreatedOut]:
    access, actor = _acting()
    endpoint, secret = webhook_service().create(
        access.tenant_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
        actor=actor,
    )
    out = EndpointCreatedOut(**endpoint_out(endpoint).model_dump(), secret=secret)
    return Response(status_code=201, content_type=JSON, body=out)


@router.get(PREFIX, summary="The tenant's endpoints (at most 20)", tags=TAGS, security=AUTH_TENANT)
def list_endpoints(
    page: Annotated[PageNumber, Query()] = 1, limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT
) -> EndpointPage:
    rows = [endpoint_out(e) for e in webhook_service().endpoints(_access().tenant_id)]
    return EndpointPage.model_validate(paginate(rows, page, limit))


@router.get(f"{PREFIX}/<id>", summary="An endpoint (never its secret)", tags=TAGS, security=AUTH_TENANT)
def get_endpoint(id: EndpointId) -> EndpointOut:
    return endpoint_out(webhook_service().endpoint(_access().tenant_id, id))


@router.patch(
    f"{PREFIX}/<id>",
    summary="Change an endpoint's url, event types, description or enabled state",
    tags=TAGS,
    security=AUTH_TENANT,
)
def update_endpoint(id: EndpointId, body: Annotated[UpdateEndpointRequest, Body()]) -> EndpointOut:
    access, actor = _acting()
    given = body.model_fields_set
    changes = EndpointChanges(
        url=body.url,
        event_types=tuple(body.event_types) if body.event_types else None,
        description=body.description,
        clear_description="description" in given and body.description is None,
        enabled=body.enabled,
    )
    return endpoint_out(webhook_service().update(access.tenant_id, id, changes, actor=actor))


@router.delete(
    f"{PREFIX}/<id>",
    summary="Delete an endpoint (its pending deliveries stop)",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=204,
    responses={204: {"description": "The endpoint is gone"}},
)
def delete_endpoint(id: EndpointId) -> Response[None]:
    access, actor = _acting()
    webhook_service().delete(access.tenant_id, id, actor=actor)
    return Response(status_code=204, body=None)


@router.post(
    f"{PREFIX}/<id>/rotate-secret",
    summary="A new signing secret; the previous one stays valid for 24 h (both signatures are sent)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def rotate_secret(id: EndpointId) -> SecretOut:
    access, actor = _acting()
    endpoint, secret = webhook_service().rotate_secret(access.tenant_id, id, actor=actor)
    assert endpoint.previous_secret_expires_at is not None
    return SecretOut(secret=secret, previous_secret_expires_at=endpoint.previous_secret_expires_at)


@router.post(
    f"{PREFIX}/<id>/test",
    summary="Send a `webhook.test` event to this endpoint (asynchronously: see its deliveries)",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=202,
    responses={202: {"description": "The test delivery is queued"}},
)
def send_test_event(id: EndpointId) -> Response[TestEventOut]:
    access, actor = _acting()
    delivery = webhook_service().send_test(access.tenant_id, id, actor=actor)
    out = TestEventOut(message="Test event queued", event_id=delivery.event_id, delivery_id=delivery.id)
    return Response(status_code=202, content_type=JSON, body=out)


@router.get(
    f"{PREFIX}/<id>/deliveries",
    summary="The endpoint's deliveries, newest first, with every attempt (cursor; `page` reads the "
    "pages before it)",
    tags=TAGS,
    security=AUTH_TENANT,
)
def list_deliveries(
    id: EndpointId,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
    page: Annotated[PageNumber | None, Query()] = None,
) -> DeliveryPage:
    tenant_id = _access().tenant_id
    deliveries, meta = page_of(
        lambda key, n: webhook_service().deliveries(tenant_id, id, key, n),
        cursor=cursor,
        limit=limit,
        page=page,
    )
    return DeliveryPage(data=[delivery_out(d) for d in deliveries], meta=meta)


@router.post(
    f"{PREFIX}/<id>/deliveries/<deliveryId>/retry",
    summary="Retry a delivery now, whatever its status (it starts its retry schedule over)",
    tags=TAGS,
    security=AUTH_TENANT,
    status_code=202,
    responses={202: {"description": "The delivery is queued"}},
)
def retry_delivery(id: EndpointId, deliveryId: DeliveryId) -> Response[DeliveryOut]:
    access, actor = _acting()
    delivery = webhook_service().retry(access.tenant_id, id, deliveryId, actor=actor)
    return Response(status_code=202, content_type=JSON, body=delivery_out(delivery))
