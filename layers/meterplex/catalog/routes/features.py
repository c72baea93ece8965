"""Features: reads for any authenticated caller, writes for a platform admin."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from meterplex.catalog.dependencies import catalog_service, created, platform_admin
from meterplex.catalog.schemas import (
    CreateFeatureRequest,
    FeatureOut,
    FeaturePage,
    UpdateFeatureRequest,
    feature_out,
)
from meterplex.platform.api import AUTH_USER, principal_of
from meterplex.platform.pagination import DEFAULT_LIMIT, PageLimit, PageNumber, paginate

router = Router()
TAGS = ["Features"]


@router.post(
    "/api/v1/features",
    summary="Create a feature (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
    status_code=201,
)
def create_feature(body: Annotated[CreateFeatureRequest, Body()]) -> Response[FeatureOut]:
    actor = platform_admin(router)
    return created(feature_out(catalog_service().create_feature(**body.model_dump(), actor=actor)))


@router.get("/api/v1/features", summary="List features", tags=TAGS, security=AUTH_USER)
def list_features(
    page: Annotated[PageNumber, Query()] = 1,
    limit: Annotated[PageLimit, Query()] = DEFAULT_LIMIT,
) -> FeaturePage:
    principal_of(router)
    features = [feature_out(f) for f in catalog_service().list_features()]
    return FeaturePage.model_validate(paginate(features, page, limit))


@router.get(
    "/api/v1/features/key/<lookupKey>", summary="Get a feature by lookup key", tags=TAGS, security=AUTH_USER
)
def get_feature_by_key(lookupKey: Annotated[str, Path(max_length=100)]) -> FeatureOut:
    principal_of(router)
    return feature_out(catalog_service().get_feature_by_key(lookupKey))


@router.get("/api/v1/features/<featureId>", summary="Get a feature", tags=TAGS, security=AUTH_USER)
def get_feature(featureId: Annotated[str, Path(max_length=100)]) -> FeatureOut:
    principal_of(router)
    return feature_out(catalog_service().get_feature(featureId))


@router.patch(
    "/api/v1/features/<featureId>",
    summary="Update or archive a feature (platform admin)",
    tags=TAGS,
    security=AUTH_USER,
)
def update_feature(
    featureId: Annotated[str, Path(max_length=100)], body: Annotated[UpdateFeatureRequest, Body()]
) -> FeatureOut:
    actor = platform_admin(router)
    return feature_out(
        catalog_service().update_feature(featureId, body.model_dump(exclude_unset=True), actor)
    )
