"""webhook_endpoints_api in-process (API Gateway proxy events, as after the authorizer) on moto (DynamoDB,
KMS, SQS): the secret shown once and stored encrypted, reads without it, PATCH/DELETE, rotation,
roles and tenant isolation, the endpoint limit, the SSRF guard outside the local stage; every write's
one audit event (ADR 0093), never with a secret in it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from meterplex.platform.auth import Role
from meterplex.platform.clock import parse_iso
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.webhooks import routes
from meterplex.webhooks.dependencies import webhook_service
from meterplex.webhooks.repository import endpoint_sk, endpoints_pk
from meterplex.webhooks.service import WebhookService
from tests.integration.catalog.handlers import api_key, call, user
from tests.integration.webhooks.conftest import QueueReader

pytestmark = pytest.mark.usefixtures("webhook_aws")
FN = "webhook_endpoints_api"
BASE = "/api/v1/webhook-endpoints"


def owner() -> tuple[str, dict[str, Any]]:
    tenant = str(uuid.uuid4())
    return tenant, {"principal": user({tenant: Role.OWNER}), "tenant": tenant}


def create(who: dict[str, Any], **fields: Any) -> Any:
    body = {"url": "http://127.0.0.1:9/hook", "eventTypes": ["invoice.finalized"]} | fields
    return call(FN, "POST", BASE, body, **who)


def stored(tenant: str, endpoint_id: str) -> dict[str, Any]:
    item = dynamodb_client().get_item(
        TableName=load(CoreTableSettings).core_table,
        Key={"pk": {"S": endpoints_pk(tenant)}, "sk": {"S": endpoint_sk(endpoint_id)}},
    )["Item"]
    return item  # type: ignore[no-any-return]


def kms_decrypt(ciphertext: str, tenant: str, endpoint_id: str) -> str:
    context = {"tenantId": tenant, "endpointId": endpoint_id, "purpose": "webhook-signing-secret"}
    plain = boto3.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context
    )
    return bytes(plain["Plaintext"]).decode()


def audit_trail(tenant: str) -> list[dict[str, Any]]:
    """The audit events staged for the tenant (outbox items), oldest first, as stored (JSON)."""
    response = dynamodb_client().query(
        TableName=load(CoreTableSettings).core_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{tenant}"}},
    )
    events = [json.loads(item["payload"]["S"]) for item in response["Items"]]
    return sorted((e for e in events if e["data"].get("audit")), key=lambda e: (e["occurredAt"], e["id"]))


def test_create_shows_the_secret_once_and_stores_it_encrypted_bound_to_the_endpoint() -> None:
    tenant, who = owner()
    created = create(who, description="finance")
    assert created.status == 201, created.body
    secret, endpoint_id = created.body["secret"], created.body["id"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created.body["enabled"] is True and created.body["eventTypes"] == ["invoice.finalized"]
    # stored as KMS ciphertext, bound to this tenant and endpoint
    item = stored(tenant, endpoint_id)
    sealed = item["secret"]["S"]
    assert secret not in str(item) and secret[6:] not in str(item)
    assert kms_decrypt(sealed, tenant, endpoint_id) == secret
    other = str(uuid.uuid4())
    with pytest.raises(ClientError):
        kms_decrypt(sealed, tenant, other)
    # never answered again
    got = call(FN, "GET", f"{BASE}/{endpoint_id}", **who)
    listed = call(FN, "GET", BASE, **who)
    assert got.status == 200 and "secret" not in got.body and secret not in str(got.body)
    assert [e["id"] for e in listed.body["data"]] == [endpoint_id] and secret not in str(listed.body)


def test_patch_changes_only_what_is_sent_and_delete_removes_it() -> None:
    _, who = owner()
    endpoint = create(who, description="first").body
    path = f"{BASE}/{endpoint['id']}"
    patched = call(FN, "PATCH", path, {"eventTypes": ["invoice.paid", "payment.failed"]}, **who)
    assert patched.status == 200, patched.body
    assert patched.body["eventTypes"] == ["invoice.paid", "payment.failed"]
    assert patched.body["description"] == "first" and patched.body["url"] == endpoint["url"]
    disabled = call(FN, "PATCH", path, {"enabled": False, "description": None}, **who).body
    assert (disabled["enabled"], disabled["disabledReason"], disabled["description"]) == (
        False,
        "MANUAL",
        None,
    )
    enabled = call(FN, "PATCH", path, {"enabled": True}, **who).body
    assert (enabled["enabled"], enabled["disabledReason"]) == (True, None)
    bad = call(FN, "PATCH", path, {"eventTypes": ["invoice.exploded"]}, **who)
    assert bad.status == 400 and any("eventTypes" in f for f in bad.fields())
    assert call(FN, "DELETE", path, **who).status == 204
    assert call(FN, "GET", path, **who).code == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert call(FN, "DELETE", path, **who).status == 404


def test_unknown_event_types_and_bad_urls_are_400_with_the_field_named() -> None:
    _, who = owner()
    wrong_type = create(who, eventTypes=["invoice.created", "nope"])
    assert wrong_type.status == 400 and any("eventTypes" in f for f in wrong_type.fields())
    assert create(who, eventTypes=[]).status == 400
    assert create(who, url="ftp://x").status == 400


def test_rotation_keeps_the_previous_secret_for_24_hours() -> None:
    tenant, who = owner()
    endpoint = create(who).body
    rotated = call(FN, "POST", f"{BASE}/{endpoint['id']}/rotate-secret", **who)
    assert rotated.status == 200, rotated.body
    assert rotated.body["secret"].startswith("whsec_") and rotated.body["secret"] != endpoint["secret"]
    after = call(FN, "GET", f"{BASE}/{endpoint['id']}", **who).body
    overlap = parse_iso(after["previousSecretExpiresAt"]) - parse_iso(after["secretRotatedAt"])
    assert overlap == timedelta(hours=24)
    item = stored(tenant, endpoint["id"])
    assert kms_decrypt(item["secret"]["S"], tenant, endpoint["id"]) == rotated.body["secret"]
    assert kms_decrypt(item["previousSecret"]["S"], tenant, endpoint["id"]) == endpoint["secret"]


def test_each_endpoint_write_leaves_one_audit_event_with_before_and_after_and_no_secret() -> None:
    # GIVEN an endpoint created, changed, rotated, then deleted by its tenant's owner
    tenant, who = owner()
    created = create(who, description="first").body
    path = f"{BASE}/{created['id']}"
    assert call(FN, "PATCH", path, {"description": "second", "enabled": False}, **who).status == 200
    rotated = call(FN, "POST", f"{path}/rotate-secret", **who).body
    sealed = stored(tenant, created["id"])
    assert call(FN, "DELETE", path, **who).status == 204
    # THEN one audit event per write, in order, by that user, about that endpoint
    trail = audit_trail(tenant)
    assert [(e["data"]["resource"], e["data"]["action"]) for e in trail] == [
        ("webhook_endpoint", "create"),
        ("webhook_endpoint", "update"),
        ("webhook_endpoint", "rotate_secret"),
        ("webhook_endpoint", "delete"),
    ]
    assert {e["data"]["resourceId"] for e in trail} == {created["id"]}
    assert {e["actor"] for e in trail} == {f"user:{who['principal'].user_id}"}
    create_event, update, rotation, delete = (e["data"] for e in trail)
    assert create_event["before"] is None and create_event["after"]["description"] == "first"
    assert (update["before"]["description"], update["after"]["description"]) == ("first", "second")
    assert (update["before"]["enabled"], update["after"]["enabled"]) == (True, False)
    assert rotation["before"]["rotation"]["previousValidUntil"] is None
    assert rotation["after"]["rotation"]["previousValidUntil"] == rotated["previousSecretExpiresAt"]
    assert delete["before"]["url"] == created["url"] and delete["after"] is None
    # AND no secret, plain or sealed, old or new, is anywhere in the trail
    text = json.dumps(trail)
    for secret in (
        created["secret"],
        rotated["secret"],
        sealed["secret"]["S"],
        sealed["previousSecret"]["S"],
    ):
        assert secret not in text and secret.removeprefix("whsec_") not in text


def test_only_owners_and_admins_of_the_tenant_manage_endpoints() -> None:
    tenant, who = owner()
    endpoint = create(who).body
    path = f"{BASE}/{endpoint['id']}"
    _, stranger = owner()
    assert call(FN, "GET", path, **stranger).code == "WEBHOOK_ENDPOINT_NOT_FOUND"
    assert call(FN, "PATCH", path, {"enabled": False}, **stranger).status == 404
    assert call(FN, "DELETE", path, **stranger).status == 404
    assert call(FN, "POST", f"{path}/rotate-secret", **stranger).status == 404
    assert call(FN, "GET", f"{path}/deliveries", **stranger).status == 404
    assert call(FN, "GET", BASE, **stranger).body["data"] == []
    admin = {"principal": user({tenant: Role.ADMIN}), "tenant": tenant}
    developer = {"principal": user({tenant: Role.DEVELOPER}), "tenant": tenant}
    assert call(FN, "GET", path, **admin).status == 200
    assert call(FN, "GET", path, **developer).code == "INSUFFICIENT_ROLE"
    assert create(developer).status == 403
    assert call(FN, "GET", BASE, principal=api_key(tenant)).status == 403
    assert call(FN, "GET", path, **who).body["enabled"] is True  # nothing changed


def test_a_tenant_has_at_most_20_endpoints_and_deleting_frees_a_place() -> None:
    _, who = owner()
    ids = [create(who).body["id"] for _ in range(20)]
    refused = create(who)
    assert refused.status == 409 and refused.code == "WEBHOOK_ENDPOINT_LIMIT"
    assert call(FN, "DELETE", f"{BASE}/{ids[0]}", **who).status == 204
    assert create(who).status == 201


def test_test_event_is_a_queued_webhook_test_delivery(queue: QueueReader) -> None:
    tenant, who = owner()
    endpoint = create(who).body
    sent = call(FN, "POST", f"{BASE}/{endpoint['id']}/test", **who)
    assert sent.status == 202, sent.body
    queued = [r for r in queue.drain() if r.tenant_id == tenant]  # not an earlier test's delayed retry
    assert [(r.tenant_id, r.endpoint_id, r.delivery_id) for r in queued] == [
        (tenant, endpoint["id"], sent.body["deliveryId"])
    ]
    log = call(FN, "GET", f"{BASE}/{endpoint['id']}/deliveries", **who).body
    assert [(d["eventType"], d["status"], d["eventId"]) for d in log["data"]] == [
        ("webhook.test", "PENDING", sent.body["eventId"])
    ]
    assert log["meta"]["nextCursor"] is None
    # AND the member's test event is on the audit trail: a delivery, sent to this endpoint
    (audit,) = [e["data"] for e in audit_trail(tenant) if e["data"]["resource"] == "webhook_delivery"]
    assert (audit["action"], audit["resourceId"], audit["before"]) == (
        "send_test",
        sent.body["deliveryId"],
        None,
    )
    assert (audit["after"]["endpointId"], audit["after"]["status"]) == (endpoint["id"], "PENDING")


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/", "https://10.0.0.1/", "https://internal.example.com/hook"],
)
def test_ssrf_targets_are_400_outside_the_local_stage(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the production policy (no local exception) and a stub DNS that resolves the name to
    127.0.0.1: metadata, private and loopback-resolving URLs are refused, nothing is stored."""
    local = webhook_service()
    production = WebhookService(
        local.store, local.sealer, local.queue, local=False, resolve=lambda host, port: ["127.0.0.1"]
    )
    monkeypatch.setattr(routes, "webhook_service", lambda: production)
    tenant, who = owner()
    refused = create(who, url=url)
    assert refused.status == 400 and refused.code == "WEBHOOK_URL_NOT_ALLOWED", refused.body
    assert call(FN, "GET", BASE, **who).body["data"] == []
    # and an update to such a URL too
    public = WebhookService(
        local.store, local.sealer, local.queue, local=False, resolve=lambda host, port: ["93.184.215.14"]
    )
    monkeypatch.setattr(routes, "webhook_service", lambda: public)
    endpoint = create(who, url="https://hooks.example.com/in").body
    monkeypatch.setattr(routes, "webhook_service", lambda: production)
    patched = call(FN, "PATCH", f"{BASE}/{endpoint['id']}", {"url": url}, **who)
    assert patched.status == 400 and patched.code == "WEBHOOK_URL_NOT_ALLOWED"
    assert call(FN, "GET", f"{BASE}/{endpoint['id']}", **who).body["url"] == "https://hooks.example.com/in"
    assert tenant
