"""Swagger UI at /api/docs and the merged OpenAPI document at /api/openapi.json."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from meterplex.docs.openapi import openapi_json, swagger_page

router = Router()


@router.get("/api/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    return Response(status_code=200, content_type="text/html", body=swagger_page())


@router.get("/api/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())
