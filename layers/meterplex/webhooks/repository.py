"""Webhook endpoints and deliveries in the core table (ADR 0080; docs/data-model/webhooks.md).

Raw botocore, conditional writes only: the endpoint count bounds a tenant's endpoints in the
create/delete transaction; endpoint updates are conditional on `version`; a delivery is put once
(`attribute_not_exists`), claimed by a lease and recorded by its holder. Key shapes live here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from meterplex.platform import topics
from meterplex.platform.clock import epoch_s, iso, parse_iso
from meterplex.platform.core_table import GSI1
from meterplex.platform.dynamodb import dynamodb_client
from meterplex.platform.dynamodb_errors import CONDITION_FAILED, condition_failed, reason_codes, retrying
from meterplex.platform.errors import Conflict, NotFound
from meterplex.platform.events import DomainEvent
from meterplex.platform.outbox import outbox_item
from meterplex.platform.pagination import Key, exclusive_start, sort_key_cursor
from meterplex.platform.settings import CoreTableSettings, load
from meterplex.webhooks.catalog import WebhookEventType
from meterplex.webhooks.models import (
    MAX_ENDPOINTS,
    Attempt,
    Delivery,
    DeliveryRef,
    DeliveryStatus,
    DisabledReason,
    Endpoint,
)

ENDPOINT_PREFIX = "ENDPOINT#"
COUNT_SK = "COUNT"
DELIVERY_PREFIX = "DELIVERY#"
DUE_SHARDS = 4  # the due index's partitions (as billing's, ADR 0043)
DELIVERY_TTL = timedelta(days=30)
RESTART = (
    "SET #status = :pending, step = :zero, nextAttemptAt = :now, manual = :true, gsi1pk = :gpk, gsi1sk = :gsk"
)
RESTARTABLE = "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :real)"


def endpoints_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#WEBHOOKS"


def endpoint_sk(endpoint_id: str) -> str:
    return f"{ENDPOINT_PREFIX}{endpoint_id}"


def deliveries_pk(tenant_id: str, endpoint_id: str) -> str:
    return f"TENANT#{tenant_id}#WHEP#{endpoint_id}"


def delivery_sk(delivery_id: str) -> str:
    return f"{DELIVERY_PREFIX}{delivery_id}"


def due_pk(shard: int) -> str:
    return f"WEBHOOKS#DUE#{shard}"


def shard_of(delivery_id: str) -> int:
    return int.from_bytes(hashlib.sha256(delivery_id.encode()).digest()[:4], "big") % DUE_SHARDS


def due_sk(at: datetime, ref: DeliveryRef) -> str:
    return f"{iso(at)}#{ref.tenant_id}#{ref.endpoint_id}#{ref.delivery_id}"


def endpoint_not_found(endpoint_id: str) -> NotFound:
    return NotFound(f"Webhook endpoint {endpoint_id} not found", code="WEBHOOK_ENDPOINT_NOT_FOUND")


def endpoint_changed() -> Conflict:
    return Conflict(
        "The webhook endpoint changed meanwhile; read it again and retry", code="WEBHOOK_ENDPOINT_CHANGED"
    )


# -- attribute helpers (DynamoDB JSON) --------------------------------------------------------------
def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name) or {}
    return value.get("S")


def _n(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name) or {}
    return int(value["N"]) if "N" in value else None


def _t(item: Mapping[str, Any], name: str) -> datetime | None:
    text = _s(item, name)
    return parse_iso(text) if text else None


def _str(value: str) -> dict[str, str]:
    return {"S": value}


def _num(value: int) -> dict[str, str]:
    return {"N": str(value)}


@dataclass(frozen=True)
class SealedSecrets:
    """An endpoint's signing secrets as stored: KMS ciphertexts (base64), never plaintext."""

    current: str
    previous: str | None = None
    previous_expires_at: datetime | None = None

    def valid(self, now: datetime) -> list[str]:
        """The ciphertexts to sign with now: the current one, then the previous one during its
        rotation overlap."""
        keep = self.previous and self.previous_expires_at is not None and now < self.previous_expires_at
        return [self.current, *([self.previous] if keep and self.previous else [])]


def endpoint_of(item: Mapping[str, Any], tenant_id: str) -> Endpoint:
    reason = _s(item, "disabledReason")
    return Endpoint(
        id=(_s(item, "sk") or "").removeprefix(ENDPOINT_PREFIX),
        tenant_id=tenant_id,
        url=_s(item, "url") or "",
        event_types=tuple(WebhookEventType(v) for v in json.loads(_s(item, "eventTypes") or "[]")),
        description=_s(item, "description"),
        enabled=bool((item.get("enabled") or {}).get("BOOL", False)),
        created_at=_t(item, "createdAt") or parse_iso("1970-01-01T00:00:00Z"),
        updated_at=_t(item, "updatedAt") or parse_iso("1970-01-01T00:00:00Z"),
        version=_n(item, "version") or 1,
        disabled_reason=DisabledReason(reason) if reason else None,
        disabled_at=_t(item, "disabledAt"),
        failing_since=_t(item, "failingSince"),
        secret_created_at=_t(item, "secretCreatedAt"),
        previous_secret_expires_at=_t(item, "previousSecretExpiresAt"),
    )


def sealed_of(item: Mapping[str, Any]) -> SealedSecrets:
    return SealedSecrets(
        current=_s(item, "secret") or "",
        previous=_s(item, "previousSecret"),
        previous_expires_at=_t(item, "previousSecretExpiresAt"),
    )


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "at": iso(attempt.at),
        "statusCode": attempt.status_code,
        "latencyMs": attempt.latency_ms,
        "responseExcerpt": attempt.response_excerpt,
        "error": attempt.error,
        "manual": attempt.manual,
    }


def _attempt_of(raw: Mapping[str, Any]) -> Attempt:
    return Attempt(
        number=int(raw["number"]),
        at=parse_iso(raw["at"]),
        status_code=raw.get("statusCode"),
        latency_ms=int(raw.get("latencyMs") or 0),
        response_excerpt=raw.get("responseExcerpt"),
        error=raw.get("error"),
        manual=bool(raw.get("manual")),
    )


def delivery_of(item: Mapping[str, Any]) -> Delivery:
    return Delivery(
        id=(_s(item, "sk") or "").removeprefix(DELIVERY_PREFIX),
        tenant_id=_s(item, "tenantId") or "",
        endpoint_id=_s(item, "endpointId") or "",
        event_id=_s(item, "eventId") or "",
        event_type=WebhookEventType(_s(item, "eventType") or WebhookEventType.WEBHOOK_TEST.value),
        payload=_s(item, "payload") or "",
        status=DeliveryStatus(_s(item, "status") or DeliveryStatus.PENDING.value),
        created_at=_t(item, "createdAt") or parse_iso("1970-01-01T00:00:00Z"),
        step=_n(item, "step") or 0,
        attempt_count=_n(item, "attemptCount") or 0,
        attempts=tuple(_attempt_of(a) for a in json.loads(_s(item, "attempts") or "[]")),
        next_attempt_at=_t(item, "nextAttemptAt"),
        delivered_at=_t(item, "deliveredAt"),
        last_status_code=_n(item, "lastStatusCode"),
        manual=bool((item.get("manual") or {}).get("BOOL", False)),
    )


def ref_of(delivery: Delivery) -> DeliveryRef:
    return DeliveryRef(delivery.tenant_id, delivery.endpoint_id, delivery.id)


class WebhookRepository:
    def __init__(self, client: Any | None = None, table: str | None = None) -> None:
        self.client = client or dynamodb_client()
        self.table = table or load(CoreTableSettings).core_table

    # -- endpoints ---------------------------------------------------------------------------
    def _endpoint_key(self, tenant_id: str, endpoint_id: str) -> dict[str, Any]:
        return {"pk": _str(endpoints_pk(tenant_id)), "sk": _str(endpoint_sk(endpoint_id))}

    def _count_update(self, tenant_id: str, delta: int) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"pk": _str(endpoints_pk(tenant_id)), "sk": _str(COUNT_SK)},
            "UpdateExpression": "ADD #count :delta",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":delta": _num(delta)},
        }
        if delta > 0:
            update["ConditionExpression"] = "attribute_not_exists(#count) OR #count < :max"
            update["ExpressionAttributeValues"][":max"] = _num(MAX_ENDPOINTS)
        return {"Update": update}

    def _outbox(self, events: Sequence[DomainEvent]) -> list[dict[str, Any]]:
        items = [outbox_item(event, topics.DOMAIN).serialize() for event in events]
        return [{"Put": {"TableName": self.table, "Item": item}} for item in items]

    def _transact(self, items: list[dict[str, Any]]) -> None:
        retrying(lambda: self.client.transact_write_items(TransactItems=items))

    def create_endpoint(self, endpoint: Endpoint, secret: str, events: Sequence[DomainEvent]) -> None:
        """The endpoint, the tenant's count + 1 (at most MAX_ENDPOINTS) and its events, in one
        transaction."""
        item = {
            **self._endpoint_key(endpoint.tenant_id, endpoint.id),
            "tenantId": _str(endpoint.tenant_id),
            "url": _str(endpoint.url),
            "eventTypes": _str(json.dumps([t.value for t in endpoint.event_types])),
            "enabled": {"BOOL": endpoint.enabled},
            "secret": _str(secret),
            "secretCreatedAt": _str(iso(endpoint.created_at)),
            "version": _num(endpoint.version),
            "createdAt": _str(iso(endpoint.created_at)),
            "updatedAt": _str(iso(endpoint.updated_at)),
        }
        if endpoint.description is not None:
            item["description"] = _str(endpoint.description)
        if endpoint.disabled_reason is not None:
            item["disabledReason"] = _str(endpoint.disabled_reason.value)
            item["disabledAt"] = _str(iso(endpoint.disabled_at or endpoint.created_at))
        put = {
            "Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        try:
            self._transact([self._count_update(endpoint.tenant_id, 1), put, *self._outbox(events)])
        except ClientError as error:
            if reason_codes(error)[:1] == [CONDITION_FAILED]:
                raise Conflict(
                    f"A tenant may have at most {MAX_ENDPOINTS} webhook endpoints",
                    code="WEBHOOK_ENDPOINT_LIMIT",
                ) from error
            raise

    def endpoints(self, tenant_id: str) -> list[Endpoint]:
        """Every endpoint of the tenant, oldest first (at most MAX_ENDPOINTS: one page)."""
        response = self.client.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": _str(endpoints_pk(tenant_id)),
                ":prefix": _str(ENDPOINT_PREFIX),
            },
        )
        return [endpoint_of(item, tenant_id) for item in response.get("Items", [])]

    def _endpoint_item(self, tenant_id: str, endpoint_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key=self._endpoint_key(tenant_id, endpoint_id), ConsistentRead=True
        )
        return response.get("Item")

    def endpoint(self, tenant_id: str, endpoint_id: str) -> Endpoint | None:
        item = self._endpoint_item(tenant_id, endpoint_id)
        return endpoint_of(item, tenant_id) if item else None

    def endpoint_with_secrets(
        self, tenant_id: str, endpoint_id: str
    ) -> tuple[Endpoint, SealedSecrets] | None:
        item = self._endpoint_item(tenant_id, endpoint_id)
        return (endpoint_of(item, tenant_id), sealed_of(item)) if item else None

    def _versioned_update(
        self,
        before: Endpoint,
        after: Endpoint,
        sets: dict[str, dict[str, Any]],
        removes: Sequence[str],
        events: Sequence[DomainEvent],
    ) -> Endpoint:
        """One transaction: the endpoint's `sets`/`removes` (and `version` + 1), iff it is still at
        `before.version`, with its events; `after` at the new version."""
        names = {f"#a{i}": name for i, name in enumerate([*sets, *removes, "version"])}
        alias = {name: key for key, name in names.items()}
        values = {f":v{i}": value for i, value in enumerate(sets.values())}
        assignments = [f"{alias[name]} = :v{i}" for i, name in enumerate(sets)]
        expression = "SET " + ", ".join([*assignments, f"{alias['version']} = :next"])
        if removes:
            expression += " REMOVE " + ", ".join(alias[name] for name in removes)
        update = {
            "Update": {
                "TableName": self.table,
                "Key": self._endpoint_key(before.tenant_id, before.id),
                "UpdateExpression": expression,
                "ConditionExpression": f"{alias['version']} = :seen",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    **values,
                    ":seen": _num(before.version),
                    ":next": _num(before.version + 1),
                },
            }
        }
        try:
            self._transact([update, *self._outbox(events)])
        except ClientError as error:
            if condition_failed(error):
                raise endpoint_changed() from error
            raise
        return replace(after, version=before.version + 1)

    def update_endpoint(self, before: Endpoint, after: Endpoint, events: Sequence[DomainEvent]) -> Endpoint:
        """Write `after`'s url, types, description and enabled state, iff the endpoint is as read."""
        sets: dict[str, dict[str, Any]] = {
            "url": _str(after.url),
            "eventTypes": _str(json.dumps([t.value for t in after.event_types])),
            "enabled": {"BOOL": after.enabled},
            "updatedAt": _str(iso(after.updated_at)),
        }
        removes: list[str] = []
        if after.description is None:
            removes.append("description")
        else:
            sets["description"] = _str(after.description)
        if after.disabled_reason is None:
            removes += ["disabledReason", "disabledAt"]
        else:
            sets["disabledReason"] = _str(after.disabled_reason.value)
            sets["disabledAt"] = _str(iso(after.disabled_at or after.updated_at))
        if after.enabled and not before.enabled:
            removes.append("failingSince")  # re-enabled: a new streak starts from scratch
        return self._versioned_update(before, after, sets, removes, events)

    def rotate_secret(
        self,
        before: Endpoint,
        sealed: SealedSecrets,
        new_secret: str,
        after: Endpoint,
        events: Sequence[DomainEvent],
    ) -> Endpoint:
        """The new secret becomes current; the current one stays valid until
        `after.previous_secret_expires_at`."""
        assert after.secret_created_at is not None and after.previous_secret_expires_at is not None
        sets = {
            "secret": _str(new_secret),
            "secretCreatedAt": _str(iso(after.secret_created_at)),
            "previousSecret": _str(sealed.current),
            "previousSecretExpiresAt": _str(iso(after.previous_secret_expires_at)),
            "updatedAt": _str(iso(after.updated_at)),
        }
        return self._versioned_update(before, after, sets, (), events)

    def delete_endpoint(self, endpoint: Endpoint, events: Sequence[DomainEvent]) -> None:
        delete = {
            "Delete": {
                "TableName": self.table,
                "Key": self._endpoint_key(endpoint.tenant_id, endpoint.id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        try:
            self._transact([delete, self._count_update(endpoint.tenant_id, -1), *self._outbox(events)])
        except ClientError as error:
            if condition_failed(error):
                raise endpoint_not_found(endpoint.id) from error
            raise

    def endpoint_failed(self, tenant_id: str, endpoint_id: str, at: datetime) -> datetime | None:
        """Note a failed attempt: `failingSince` is set if it was not; what it is now (None when the
        endpoint is gone)."""
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key=self._endpoint_key(tenant_id, endpoint_id),
                UpdateExpression="SET failingSince = if_not_exists(failingSince, :at)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": _str(iso(at))},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return _t(response["Attributes"], "failingSince")

    def endpoint_succeeded(self, tenant_id: str, endpoint_id: str) -> None:
        """A success ends a failing streak (one write, only when there was one)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._endpoint_key(tenant_id, endpoint_id),
                UpdateExpression="REMOVE failingSince",
                ConditionExpression="attribute_exists(failingSince)",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def disable_endpoint(self, before: Endpoint, after: Endpoint, events: Sequence[DomainEvent]) -> bool:
        """Disable an endpoint that is still enabled (410, failing for days), with its event; False
        when it was not (already disabled, changed or gone: nothing to do)."""
        try:
            self.update_endpoint(before, after, events)
        except (Conflict, NotFound):
            return False
        return True

    # -- deliveries --------------------------------------------------------------------------
    def _delivery_key(self, ref: DeliveryRef) -> dict[str, Any]:
        return {
            "pk": _str(deliveries_pk(ref.tenant_id, ref.endpoint_id)),
            "sk": _str(delivery_sk(ref.delivery_id)),
        }

    def create_delivery(self, delivery: Delivery, events: Sequence[DomainEvent] = ()) -> bool:
        """Put a new PENDING delivery, due now; False when it exists (a replayed event). With
        `events` (a test event's audit), one transaction puts the delivery and them."""
        ref = ref_of(delivery)
        due_at = delivery.next_attempt_at or delivery.created_at
        item = {
            **self._delivery_key(ref),
            "tenantId": _str(delivery.tenant_id),
            "endpointId": _str(delivery.endpoint_id),
            "eventId": _str(delivery.event_id),
            "eventType": _str(delivery.event_type.value),
            "payload": _str(delivery.payload),
            "status": _str(DeliveryStatus.PENDING.value),
            "step": _num(0),
            "attemptCount": _num(0),
            "attempts": _str("[]"),
            "createdAt": _str(iso(delivery.created_at)),
            "nextAttemptAt": _str(iso(due_at)),
            "manual": {"BOOL": delivery.manual},
            "gsi1pk": _str(due_pk(shard_of(delivery.id))),
            "gsi1sk": _str(due_sk(due_at, ref)),
            "expiresAt": _num(epoch_s(delivery.created_at + DELIVERY_TTL)),
        }
        put = {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            if events:
                self._transact([{"Put": put}, *self._outbox(events)])
            else:
                retrying(lambda: self.client.put_item(**put))
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def delivery(self, ref: DeliveryRef) -> Delivery | None:
        response = self.client.get_item(
            TableName=self.table, Key=self._delivery_key(ref), ConsistentRead=True
        )
        item = response.get("Item")
        return delivery_of(item) if item else None

    def deliveries(
        self, tenant_id: str, endpoint_id: str, start: Key | None, limit: int
    ) -> tuple[list[Delivery], Key | None]:
        """A page of an endpoint's deliveries, newest first (ids sort by event time)."""
        pk = deliveries_pk(tenant_id, endpoint_id)
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _str(pk), ":prefix": _str(DELIVERY_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        exclusive = exclusive_start(pk, start, DELIVERY_PREFIX)
        if exclusive:
            request["ExclusiveStartKey"] = exclusive
        response = self.client.query(**request)
        return [delivery_of(i) for i in response.get("Items", [])], sort_key_cursor(
            response.get("LastEvaluatedKey")
        )

    def claim(
        self, ref: DeliveryRef, owner: str, *, now: datetime, real_now_ms: int, lease_ms: int
    ) -> Delivery | None:
        """Take the delivery's attempt: a lease, iff it is PENDING, due by `now` (business time)
        and no live lease holds it (real time). None: not ours to attempt."""
        try:
            response = self.client.update_item(
                TableName=self.table,
                Key=self._delivery_key(ref),
                UpdateExpression="SET leaseOwner = :owner, leaseUntil = :until",
                ConditionExpression="#status = :pending AND nextAttemptAt <= :now "
                "AND (attribute_not_exists(leaseUntil) OR leaseUntil < :real)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":owner": _str(owner),
                    ":until": _num(real_now_ms + lease_ms),
                    ":pending": _str(DeliveryStatus.PENDING.value),
                    ":now": _str(iso(now)),
                    ":real": _num(real_now_ms),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return delivery_of(response["Attributes"])

    def record(self, after: Delivery, owner: str) -> bool:
        """Write the attempt's outcome (`after`), iff `owner` still holds the lease; the due index
        entry moves to `after.next_attempt_at` or goes (not PENDING)."""
        ref = ref_of(after)
        values: dict[str, Any] = {
            ":status": _str(after.status.value),
            ":step": _num(after.step),
            ":count": _num(after.attempt_count),
            ":attempts": _str(json.dumps([_attempt_json(a) for a in after.attempts], separators=(",", ":"))),
            ":owner": _str(owner),
            ":manual": {"BOOL": after.manual},
        }
        sets = [
            "#status = :status",
            "step = :step",
            "attemptCount = :count",
            "attempts = :attempts",
            "manual = :manual",
        ]
        removes = ["leaseOwner", "leaseUntil"]
        if after.last_status_code is not None:
            sets.append("lastStatusCode = :code")
            values[":code"] = _num(after.last_status_code)
        if after.delivered_at is not None:
            sets.append("deliveredAt = :delivered")
            values[":delivered"] = _str(iso(after.delivered_at))
        if after.status is DeliveryStatus.PENDING and after.next_attempt_at is not None:
            sets += ["nextAttemptAt = :next", "gsi1pk = :gpk", "gsi1sk = :gsk"]
            values |= {
                ":next": _str(iso(after.next_attempt_at)),
                ":gpk": _str(due_pk(shard_of(after.id))),
                ":gsk": _str(due_sk(after.next_attempt_at, ref)),
            }
        else:
            removes += ["nextAttemptAt", "gsi1pk", "gsi1sk"]
        try:
            retrying(
                lambda: self.client.update_item(
                    TableName=self.table,
                    Key=self._delivery_key(ref),
                    UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                    ConditionExpression="leaseOwner = :owner",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                )
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def restart(
        self, ref: DeliveryRef, *, now: datetime, real_now_ms: int, events: Sequence[DomainEvent]
    ) -> Delivery:
        """A manual retry: the delivery starts over, PENDING and due now, with its audit `events` in
        the same transaction, unless an attempt is in flight (a live lease): 409. The delivery as
        it is now (read again: a transaction returns no item)."""
        values = {
            ":pending": _str(DeliveryStatus.PENDING.value),
            ":zero": _num(0),
            ":now": _str(iso(now)),
            ":true": {"BOOL": True},
            ":gpk": _str(due_pk(shard_of(ref.delivery_id))),
            ":gsk": _str(due_sk(now, ref)),
            ":real": _num(real_now_ms),
        }
        update = {
            "TableName": self.table,
            "Key": self._delivery_key(ref),
            "UpdateExpression": RESTART,
            "ConditionExpression": RESTARTABLE,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        try:
            self._transact([{"Update": update}, *self._outbox(events)])
        except ClientError as error:
            if not condition_failed(error):
                raise
            if self.delivery(ref) is None:
                raise delivery_not_found(ref.delivery_id) from error
            raise Conflict(
                "An attempt of this delivery is in flight; retry it when it has finished",
                code="WEBHOOK_DELIVERY_IN_FLIGHT",
            ) from error
        restarted = self.delivery(ref)
        if restarted is None:  # deleted with its endpoint in the instant since
            raise delivery_not_found(ref.delivery_id)
        return restarted

    # -- the due index -----------------------------------------------------------------------
    def due(self, as_of: datetime) -> Iterator[DeliveryRef]:
        """Every PENDING delivery due at or before `as_of` (eventually consistent)."""
        bound = iso(as_of + timedelta(milliseconds=1))
        for shard in range(DUE_SHARDS):
            request: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": GSI1,
                "KeyConditionExpression": "gsi1pk = :pk AND gsi1sk < :bound",
                "ExpressionAttributeValues": {":pk": _str(due_pk(shard)), ":bound": _str(bound)},
                "ProjectionExpression": "gsi1sk",
            }
            while True:
                page = self.client.query(**request)
                for item in page.get("Items", []):
                    _, tenant_id, endpoint_id, delivery_id = (_s(item, "gsi1sk") or "").split("#", 3)
                    yield DeliveryRef(tenant_id, endpoint_id, delivery_id)
                if "LastEvaluatedKey" not in page:
                    break
                request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def next_due_at(self) -> datetime | None:
        """The earliest `nextAttemptAt` of any PENDING delivery (one Query per shard, Limit 1)."""
        earliest: datetime | None = None
        for shard in range(DUE_SHARDS):
            page = self.client.query(
                TableName=self.table,
                IndexName=GSI1,
                KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": _str(due_pk(shard))},
                ProjectionExpression="gsi1sk",
                Limit=1,
            )
            for item in page.get("Items", []):
                at = parse_iso((_s(item, "gsi1sk") or "").split("#", 1)[0])
                earliest = at if earliest is None or at < earliest else earliest
        return earliest


def delivery_not_found(delivery_id: str) -> NotFound:
    return NotFound(f"Webhook delivery {delivery_id} not found", code="WEBHOOK_DELIVERY_NOT_FOUND")
