"""The local cloud over real HTTP: gateway, functions, moto and Tansu together."""

from __future__ import annotations

import requests

TIMEOUT = 10


def assert_envelope(body: dict, status: int, path: str) -> None:
    assert body["statusCode"] == status
    assert {"error", "code", "message", "correlationId", "timestamp"} <= set(body)
    assert body["path"] == path


def test_health_reports_dynamodb_and_kafka_up(local_cloud_url: str) -> None:
    response = requests.get(f"{local_cloud_url}/health", timeout=TIMEOUT)
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["dynamodb"]["status"] == "up"
    assert checks["kafka"]["status"] == "up"


def test_swagger_ui_is_served(local_cloud_url: str) -> None:
    response = requests.get(f"{local_cloud_url}/api/docs", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


def test_openapi_document_is_served(local_cloud_url: str) -> None:
    response = requests.get(f"{local_cloud_url}/api/openapi.json", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_unknown_route_is_a_404_envelope_with_correlation_id(local_cloud_url: str) -> None:
    response = requests.get(f"{local_cloud_url}/api/v1/does-not-exist", timeout=TIMEOUT)
    assert response.status_code == 404
    body = response.json()
    assert_envelope(body, 404, "/api/v1/does-not-exist")
    assert body["correlationId"] == response.headers["x-correlation-id"]


def test_correlation_id_is_echoed(local_cloud_url: str) -> None:
    response = requests.get(
        f"{local_cloud_url}/health", headers={"x-correlation-id": "e2e-corr-1"}, timeout=TIMEOUT
    )
    assert response.headers["x-correlation-id"] == "e2e-corr-1"


def test_protected_route_without_token_is_a_401_envelope(local_cloud_url: str) -> None:
    response = requests.get(
        f"{local_cloud_url}/api/v1/auth/me", headers={"x-correlation-id": "e2e-corr-2"}, timeout=TIMEOUT
    )
    assert response.status_code == 401
    body = response.json()
    assert_envelope(body, 401, "/api/v1/auth/me")
    assert body["code"] == "UNAUTHORIZED"
    assert body["correlationId"] == "e2e-corr-2"
