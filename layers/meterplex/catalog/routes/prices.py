"""Prices of a plan: reads are public (ADR 0010), writes need a platform admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.catalog.dependencies import catalog_service, created, platform_admin
from meterplex.catalog.schemas import (
    CreatePriceRequest,
    DeactivatePriceRequest,
    PriceOut,
    PricePage,
    price_out,
)
from meterplex.platform.api import AUTH_USER
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Plan prices"]


@router.post(
    "/api/v1/plans/<planId>/prices",
    summary="Add a price (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
    status_code=201,
)
def create_price(
    planId: Annotated[str, Path(max_length=100)], body: Annotated[CreatePriceRequest, Body()]
) -> Response[PriceOut]:
    actor = platform_admin(router)
    price = catalog_service().add_price(
        planId, interval=body.interval, amount=body.amount, currency=body.currency, actor=actor
    )
    return created(price_out(price))


@router.get(
    "/api/v1/plans/<planId>/prices", summary="List a plan's prices, active and not (public)", tags=TAGS
)
def list_prices(
    planId: Annotated[str, Path(max_length=100)],
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> PricePage:
    prices = [price_out(p) for p in catalog_service().list_prices(planId)]
    return PricePage.model_validate(paginate(prices, page, limit))


@router.patch(
    "/api/v1/plans/<planId>/prices/<priceId>",
    summary="Deactivate a price (platform admin); subscribers keep their price",
    tags=TAGS,
    security=AUTH_USER,
)
def deactivate_price(
    planId: Annotated[str, Path(max_length=100)],
    priceId: Annotated[str, Path(max_length=100)],
    body: Annotated[DeactivatePriceRequest | None, Body()] = None,
) -> PriceOut:
    actor = platform_admin(router)
    return price_out(catalog_service().deactivate_price(planId, priceId, actor))
