"""The attempt queue (SQS, ADR 0080): a message names a delivery to attempt; `DelaySeconds`
(≤ 15 minutes) wakes a retry on time. Messages are hints: the delivery's claim decides. Each
carries the correlation id of what queued it (`x-correlation-id` attribute, ADR 0105)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cache
from typing import Any

import botocore.session

from meterplex.platform.observability import current_correlation_id
from meterplex.platform.sqs_messages import correlation_attributes
from meterplex.webhooks.models import DeliveryRef

MAX_DELAY = timedelta(minutes=15)  # SQS's DelaySeconds limit
BATCH = 10  # SendMessageBatch's limit


@cache
def sqs_client() -> Any:
    return botocore.session.get_session().create_client("sqs")


def message_of(ref: DeliveryRef) -> str:
    return json.dumps(
        {"tenantId": ref.tenant_id, "endpointId": ref.endpoint_id, "deliveryId": ref.delivery_id},
        separators=(",", ":"),
    )


def ref_from(body: str) -> DeliveryRef:
    """A message's delivery; ValueError (poison) when it names none."""
    raw = json.loads(body)
    if not isinstance(raw, dict):
        raise ValueError("a webhook queue message is a JSON object")
    values = [raw.get(k) for k in ("tenantId", "endpointId", "deliveryId")]
    if not all(isinstance(v, str) and v for v in values):
        raise ValueError("a webhook queue message names tenantId, endpointId and deliveryId")
    return DeliveryRef(*values)  # type: ignore[arg-type]


class QueueFailed(Exception):
    """Some messages were not accepted by SQS (the due index still holds their deliveries)."""


class AttemptQueue:
    def __init__(self, url: str, client: Any | None = None) -> None:
        self.url = url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = sqs_client()
        return self._client

    def enqueue(self, refs: Iterable[DeliveryRef], delay: timedelta = timedelta(0)) -> int:
        """Send one message per delivery, `delay` later (rounded up to whole seconds, so a message
        never arrives before its delivery is due); the number sent."""
        seconds = min(math.ceil(delay.total_seconds()), int(MAX_DELAY.total_seconds()))
        pending: Sequence[DeliveryRef] = list(refs)
        attributes = correlation_attributes(current_correlation_id())  # what caused the delivery
        sent = 0
        for start in range(0, len(pending), BATCH):
            chunk = pending[start : start + BATCH]
            entries = [
                {"Id": str(i), "MessageBody": message_of(ref), "DelaySeconds": max(0, seconds)}
                | ({"MessageAttributes": attributes} if attributes else {})
                for i, ref in enumerate(chunk)
            ]
            response = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                raise QueueFailed(f"{len(failed)} of {len(chunk)} webhook messages refused: {failed[:2]}")
            sent += len(chunk)
        return sent
