"""The usage table, read once per run (ADR 0095): one Scan, in parallel segments, eventually
consistent. Event items become usage records, counting receipts become receipts; the read units
are counted the way DynamoDB bills a Scan (by the bytes each page read, 4 KB units, halved)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from meterplex.platform.dynamodb import dynamodb_client
from meterplex.reconciliation.checks import ReceiptKey
from meterplex.usage.counters import Receipt
from meterplex.usage.items import record_from_item
from meterplex.usage.keys import EVENT_SK, ReceiptAttr
from meterplex.usage.models import CounterKey, UsageRecord

READ_UNIT_BYTES = 4096
EVENTUALLY_CONSISTENT = 0.5  # a Scan without ConsistentRead costs half
TENANT_PREFIX = "TENANT#"
REQUEST_PART = "#REQ#"
RECEIPT_PREFIX = "COUNTER#"


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) for v in inner)
    return sum(len(str(v)) for v in inner)  # sets


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names + values, in bytes."""
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def page_read_units(items: list[dict[str, Any]]) -> float:
    return math.ceil(sum(item_size(i) for i in items) / READ_UNIT_BYTES) * EVENTUALLY_CONSISTENT


def receipt_of(item: dict[str, Any]) -> tuple[ReceiptKey, Receipt] | None:
    """A counting receipt item (`TENANT#t#REQ#r` / `COUNTER#feature#sub#windowStart`), or None."""
    pk, sk = item["pk"]["S"], item["sk"]["S"]
    if not pk.startswith(TENANT_PREFIX) or REQUEST_PART not in pk or not sk.startswith(RECEIPT_PREFIX):
        return None
    tenant_id, request_id = pk[len(TENANT_PREFIX) :].split(REQUEST_PART, 1)
    parts = sk[len(RECEIPT_PREFIX) :].rsplit("#", 2)
    if len(parts) != 3:
        return None
    feature, subscription_id, window_start = parts
    receipt = Receipt(
        request_id,
        bytes(item.get(ReceiptAttr.COUNTED, {}).get("B", b"")),
        int(item.get(ReceiptAttr.UNITS, {}).get("N", 0)),
        int(item.get(ReceiptAttr.EVENTS, {}).get("N", 0)),
        stored=True,
    )
    return (CounterKey(tenant_id, feature, subscription_id, window_start), request_id), receipt


@dataclass
class UsageSnapshot:
    events: dict[str, list[UsageRecord]] = field(default_factory=dict)  # per tenant
    receipts: dict[ReceiptKey, Receipt] = field(default_factory=dict)
    items: int = 0
    read_units: float = 0.0
    events_read: int = 0
    receipts_read: int = 0

    def add(self, item: dict[str, Any]) -> None:
        self.items += 1
        if item.get("sk", {}).get("S") == EVENT_SK:
            try:
                record = record_from_item(item)
            except ValueError:
                return
            self.events.setdefault(record.tenant_id, []).append(record)
            self.events_read += 1
            return
        found = receipt_of(item)
        if found is not None:
            self.receipts[found[0]] = found[1]
            self.receipts_read += 1

    def merge(self, other: UsageSnapshot) -> None:
        for tenant_id, records in other.events.items():
            self.events.setdefault(tenant_id, []).extend(records)
        self.receipts.update(other.receipts)
        self.items += other.items
        self.read_units += other.read_units
        self.events_read += other.events_read
        self.receipts_read += other.receipts_read


class UsageScan:
    def __init__(self, table: str, client: Any | None = None, segments: int = 4) -> None:
        self.table = table
        self.client = client or dynamodb_client()
        self.segments = max(1, segments)

    def read(self, tenant_id: str | None = None) -> UsageSnapshot:
        """Every usage item (of one tenant: a key filter, which reads — and costs — the same)."""
        snapshot = UsageSnapshot()
        with ThreadPoolExecutor(max_workers=self.segments) as pool:
            for part in pool.map(lambda s: self._segment(s, tenant_id), range(self.segments)):
                snapshot.merge(part)
        return snapshot

    def _segment(self, segment: int, tenant_id: str | None) -> UsageSnapshot:
        snapshot = UsageSnapshot()
        for page in self._pages(segment, tenant_id):
            snapshot.read_units += page_read_units(page)
            for item in page:
                snapshot.add(item)
        return snapshot

    def _pages(self, segment: int, tenant_id: str | None) -> Iterator[list[dict[str, Any]]]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "Segment": segment,
            "TotalSegments": self.segments,
        }
        if tenant_id is not None:
            request["FilterExpression"] = "begins_with(pk, :tenant)"
            request["ExpressionAttributeValues"] = {":tenant": {"S": f"{TENANT_PREFIX}{tenant_id}#"}}
        while True:
            response = self.client.scan(**request)
            yield response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last
