"""A usage event ⇄ its usage-table item (DynamoDB JSON). Pure: the relay maps stream images with
it without importing any AWS client or table model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meterplex.platform.clock import epoch_s
from meterplex.usage.keys import EVENT_SK, UsageAttr, event_pk
from meterplex.usage.models import UsageRecord


def usage_item(record: UsageRecord, expires_at: datetime, trace_header: str | None = None) -> dict[str, Any]:
    """The item of `record`; `trace_header`: the ingest's X-Ray header, relayed with it (ADR 0105)."""
    item: dict[str, Any] = {
        "pk": {"S": event_pk(record.tenant_id, record.event_id)},
        "sk": {"S": EVENT_SK},
        UsageAttr.TENANT_ID: {"S": record.tenant_id},
        UsageAttr.EVENT_ID: {"S": record.event_id},
        UsageAttr.FEATURE: {"S": record.feature},
        UsageAttr.AMOUNT: {"N": str(record.amount)},
        UsageAttr.TIMESTAMP: {"S": record.timestamp},
        UsageAttr.SUBSCRIPTION_ID: {"S": record.subscription_id},
        UsageAttr.WINDOW_START: {"S": record.window_start},
        UsageAttr.WINDOW_END: {"S": record.window_end},
        UsageAttr.RECEIVED_AT: {"S": record.received_at},
        UsageAttr.ACTOR: {"S": record.actor},
        UsageAttr.EXPIRES_AT: {"N": str(epoch_s(expires_at))},
    }
    if record.metadata is not None:
        item[UsageAttr.METADATA] = {"S": record.metadata}
    if record.correlation_id:
        item[UsageAttr.CORRELATION_ID] = {"S": record.correlation_id}
    if trace_header:
        item[UsageAttr.TRACE_HEADER] = {"S": trace_header}
    if record.request_id:
        item[UsageAttr.REQUEST_ID] = {"S": record.request_id}
        item[UsageAttr.REQUEST_INDEX] = {"N": str(record.request_index)}
    return item


def _s(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


def record_from_item(image: dict[str, Any]) -> UsageRecord:
    """A usage item (a stream record's NewImage, DynamoDB JSON) → the record; ValueError if not one."""
    if _s(image, "sk") != EVENT_SK:
        raise ValueError("not a usage event item")
    required = (
        UsageAttr.TENANT_ID,
        UsageAttr.EVENT_ID,
        UsageAttr.FEATURE,
        UsageAttr.TIMESTAMP,
        UsageAttr.SUBSCRIPTION_ID,
        UsageAttr.WINDOW_START,
        UsageAttr.WINDOW_END,
        UsageAttr.RECEIVED_AT,
    )
    values = {name: _s(image, name) for name in required}
    missing = sorted(name for name, value in values.items() if not value)
    amount = (image.get(UsageAttr.AMOUNT) or {}).get("N")
    if missing or amount is None:
        raise ValueError(f"usage event item lacks {missing or [UsageAttr.AMOUNT]}")
    return UsageRecord(
        tenant_id=str(values[UsageAttr.TENANT_ID]),
        event_id=str(values[UsageAttr.EVENT_ID]),
        feature=str(values[UsageAttr.FEATURE]),
        amount=int(amount),
        timestamp=str(values[UsageAttr.TIMESTAMP]),
        subscription_id=str(values[UsageAttr.SUBSCRIPTION_ID]),
        window_start=str(values[UsageAttr.WINDOW_START]),
        window_end=str(values[UsageAttr.WINDOW_END]),
        received_at=str(values[UsageAttr.RECEIVED_AT]),
        metadata=_s(image, UsageAttr.METADATA),
        actor=_s(image, UsageAttr.ACTOR) or "system",
        correlation_id=_s(image, UsageAttr.CORRELATION_ID),
        request_id=_s(image, UsageAttr.REQUEST_ID) or "",
        request_index=int((image.get(UsageAttr.REQUEST_INDEX) or {}).get("N") or 0),
    )
