"""/api/v1/api-keys: the tenant's API keys (OWNER/ADMIN)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from meterplex.identity.access import recheck
from meterplex.identity.routes import Services
from meterplex.identity.schemas import ApiKeyCreatedOut, ApiKeyOut, CreateApiKeyRequest
from meterplex.platform.api import AUTH_TENANT, JSON, actor_of, principal_of, tenant_header_of
from meterplex.platform.auth import MANAGERS, tenant_access
from meterplex.platform.pagination import DEFAULT_LIMIT, Page, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["API keys"]
PREFIX = "/api/v1/api-keys"


@router.post(
    PREFIX,
    tags=TAGS,
    summary="Create an API key; the full key is shown only in this answer",
    security=AUTH_TENANT,
    status_code=201,
)
def create_api_key(body: Annotated[CreateApiKeyRequest, Body()]) -> Response[ApiKeyCreatedOut]:
    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router), roles=MANAGERS)
    service = Services.api_keys()
    key, secret = service.create(
        access, name=body.name, expires_in_days=body.expires_in_days, actor=actor_of(router, principal)
    )
    out = ApiKeyCreatedOut.created(key, secret, service.clock.now())
    return Response(status_code=201, content_type=JSON, body=out)


@router.get(
    PREFIX,
    tags=TAGS,
    summary="The tenant's API keys (never the secrets)",
    security=AUTH_TENANT,
    middlewares=[recheck],
)
def list_api_keys(
    page: Annotated[PageNumber, Query()] = 1, limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT
) -> Page[ApiKeyOut]:
    access = tenant_access(principal_of(router), tenant_header_of(router), roles=MANAGERS)
    service = Services.api_keys()
    now = service.clock.now()
    rows = [ApiKeyOut.of(k, now) for k in service.list(access)]
    return Page[ApiKeyOut].model_validate(paginate(rows, page, limit))


@router.delete(f"{PREFIX}/<id>", tags=TAGS, summary="Revoke an API key", security=AUTH_TENANT)
def revoke_api_key(id: str) -> ApiKeyOut:
    principal = principal_of(router)
    access = tenant_access(principal, tenant_header_of(router), roles=MANAGERS)
    service = Services.api_keys()
    key = service.revoke(access, id, actor_of(router, principal))
    return ApiKeyOut.of(key, service.clock.now())
