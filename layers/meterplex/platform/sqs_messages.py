"""The correlation id on SQS messages (ADR 0105): a message attribute `x-correlation-id`, as Kafka
messages carry it in a header. A sender puts the id being handled on what it queues; a consumer
handles each message under the one it carries (only a valid id, never raw text into the logs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meterplex.platform import limits
from meterplex.platform.observability import CORRELATION_HEADER


def correlation_attributes(correlation_id: str | None) -> dict[str, Any]:
    """SendMessage's `MessageAttributes` carrying `correlation_id` (none when there is none)."""
    if not correlation_id:
        return {}
    return {CORRELATION_HEADER: {"DataType": "String", "StringValue": correlation_id}}


def correlation_id_of_message(record: Mapping[str, Any]) -> str | None:
    """The `x-correlation-id` attribute of a message of Lambda's SQS event, when it is a valid id."""
    attributes = record.get("messageAttributes") or {}
    attribute = attributes.get(CORRELATION_HEADER) if isinstance(attributes, Mapping) else None
    sent = attribute.get("stringValue") if isinstance(attribute, Mapping) else None
    return sent if isinstance(sent, str) and limits.is_correlation_id(sent) else None
