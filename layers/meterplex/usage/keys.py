"""Key shapes and attribute names of usage event items (docs/data-model.md, usage table).

Pure: no AWS imports. The API's store, the outbox relay and the aggregator spell them from here.

One item per accepted event, `pk = TENANT#<tenant>#EVT#<eventId>`, `sk = EVENT`: the key is the
dedup marker (a PartiQL INSERT fails on an existing key), and every event is its own partition, so
a tenant sending 1,000 events a request never concentrates writes on one partition (ADR 0020).

One *counting receipt* per (ingest request, counter), `pk = TENANT#<tenant>#REQ#<requestId>`,
`sk = COUNTER#<feature>#<subscriptionId>#<windowStart>`: a bitmap of the request's events already
added to that counter, written in the aggregator's transaction with the counter (ADR 0070).
"""

from __future__ import annotations

import hashlib
import uuid

EVENT_SK = "EVENT"  # the usage stream's filter selects INSERTs with this sort key
_ENVELOPE_NAMESPACE = uuid.UUID("6f1d7c1e-8a55-4c5e-9a43-2f0b1d0a7e51")
_NAMESPACE_BYTES = _ENVELOPE_NAMESPACE.bytes


def event_pk(tenant_id: str, event_id: str) -> str:
    return f"TENANT#{tenant_id}#EVT#{event_id}"


def receipt_pk(tenant_id: str, request_id: str) -> str:
    return f"TENANT#{tenant_id}#REQ#{request_id}"


def receipt_sk(feature: str, subscription_id: str, window_start: str) -> str:
    return f"COUNTER#{feature}#{subscription_id}#{window_start}"


def envelope_id(tenant_id: str, event_id: str) -> str:
    """The Kafka envelope's id: deterministic, so every delivery of one event carries the same id.

    It is `uuid.uuid5(_ENVELOPE_NAMESPACE, "<tenant>\\0<event>")`, spelled without building a
    UUID object (the relay names every usage event's envelope: a tenth of its time per event)."""
    name = _NAMESPACE_BYTES + f"{tenant_id}\x00{event_id}".encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])  # uuid5's own hash
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class ReceiptAttr:
    COUNTED = "counted"  # bitmap (B): bit i set = the request's event i is in the counter
    UNITS = "units"  # units this receipt's events added to the counter
    EVENTS = "events"  # how many events
    EXPIRES_AT = "expiresAt"


class UsageAttr:
    TENANT_ID = "tenantId"
    EVENT_ID = "eventId"
    FEATURE = "feature"
    AMOUNT = "amount"
    TIMESTAMP = "timestamp"
    SUBSCRIPTION_ID = "subscriptionId"
    WINDOW_START = "windowStart"
    WINDOW_END = "windowEnd"
    METADATA = "metadata"  # JSON text
    RECEIVED_AT = "receivedAt"
    ACTOR = "actor"
    CORRELATION_ID = "correlationId"
    TRACE_HEADER = "traceHeader"  # the ingest's X-Ray trace header (AWS), relayed on Kafka (ADR 0105)
    REQUEST_ID = "requestId"  # the ingest request that stored it (its counting receipt, ADR 0070)
    REQUEST_INDEX = "requestIndex"  # its position in that request: its bit in the receipt
    EXPIRES_AT = "expiresAt"


# What most events of one ingest request share (the request's tenant, id, time, caller; usually
# one feature, subscription and window): spelled as literals in their INSERT, so a request's
# statements repeat one text and only each event's own values are parameters (ADR 0117).
SHARED_ATTRIBUTES = frozenset(
    {
        "sk",
        UsageAttr.TENANT_ID,
        UsageAttr.FEATURE,
        UsageAttr.SUBSCRIPTION_ID,
        UsageAttr.WINDOW_START,
        UsageAttr.WINDOW_END,
        UsageAttr.RECEIVED_AT,
        UsageAttr.ACTOR,
        UsageAttr.CORRELATION_ID,
        UsageAttr.TRACE_HEADER,
        UsageAttr.REQUEST_ID,
        UsageAttr.EXPIRES_AT,
    }
)
