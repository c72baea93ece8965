"""The platform's spine, over real HTTP against the local cloud:
HTTP → gateway → authorizer → identity_api → moto (DynamoDB) → stream → outbox_relay → Kafka (Tansu)
→ audit_writer → the audit trail, read back over HTTP."""

from __future__ import annotations

import time
import uuid

import requests

TIMEOUT_S = 20


def test_a_write_travels_the_outbox_through_kafka_to_its_consumer(local_cloud_url: str) -> None:
    # GIVEN a registration over HTTP (the write puts its domain events in the outbox, atomically)
    suffix = uuid.uuid4().hex[:10]
    registered = requests.post(
        f"{local_cloud_url}/api/v1/auth/register",
        json={
            "email": f"pipeline-{suffix}@example.com",
            "password": "DevPass123",
            "firstName": "Pipe",
            "lastName": "Line",
            "tenantName": "Pipeline Inc",
            "tenantSlug": f"pipeline-{suffix}",
        },
        headers={"x-correlation-id": f"corr-{suffix}"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    token, tenant_id = registered.json()["accessToken"], registered.json()["tenant"]["id"]

    # WHEN the stream poller, the relay, Tansu and the Kafka poller have carried the events
    deadline, actions = time.monotonic() + TIMEOUT_S, set()
    events: list[dict] = []
    while time.monotonic() < deadline and not {"user.registered", "tenant.created"} <= actions:
        reply = requests.get(
            f"{local_cloud_url}/api/v1/audit-events",
            headers={"Authorization": f"Bearer {token}", "x-tenant-id": tenant_id},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        events = reply.json()["data"]
        actions = {e["type"] for e in events}
        time.sleep(0.1)

    # THEN the consumer wrote them to the tenant's audit trail, with the request's correlation id
    assert {"user.registered", "tenant.created"} <= actions, events
    created = next(e for e in events if e["type"] == "tenant.created")
    assert created["correlationId"] == f"corr-{suffix}"
    assert (created["resource"], created["action"]) == ("tenant", "create")
    assert created["after"]["slug"] == f"pipeline-{suffix}"
    assert "password" not in str(events).lower() or "[REDACTED]" in str(events)


def test_audit_events_need_owner_or_admin_and_a_token(local_cloud_url: str) -> None:
    assert requests.get(f"{local_cloud_url}/api/v1/audit-events", timeout=10).status_code == 401
