"""Wiring for the catalog routes: one service per process, built on first use."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel

from meterplex.catalog.service import CatalogService
from meterplex.platform.api import HasEvent, actor_of, principal_of
from meterplex.platform.audit import Actor

JSON = "application/json"


@cache
def catalog_service() -> CatalogService:
    from meterplex.catalog.repository import DynamoCatalogRepository

    return CatalogService(DynamoCatalogRepository())


def created(body: BaseModel) -> Response:
    return Response(status_code=201, content_type=JSON, body=body)


def no_content() -> Response[None]:
    """204 with no body at all (an empty string would be serialized as `null`)."""
    return Response(status_code=204, body=None)


def platform_admin(router: HasEvent) -> Actor:
    """The platform admin writing to the catalog (403 for anyone else), for the audit trail."""
    principal = principal_of(router)
    principal.require_platform_admin()
    return actor_of(router, principal)
