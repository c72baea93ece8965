"""Dead-letter control: re-deliver a dead letter to the consumer that failed, or discard it
(ADR 0091). The store is `meterplex.platform.dead_letters`.

A retry hands the stored record — exactly as the consumer first received it — to the consumer's
function (Lambda Invoke, RequestResponse; locally the local cloud's Lambda API), in the event
shape of its trigger: an MSK event of one record, a DynamoDB stream event of one record, or an
SQS event of one message. Consumers are idempotent, so a retry of something that was in fact
applied changes nothing. The outcome:
* the function answered with no batch item failure and did not dead-letter the record again →
  RETRIED;
* it reported the record as failed, or dead-lettered it again (still poison) → OPEN, with the new
  reason.
Only an OPEN dead letter is re-delivered: retrying a RETRIED one answers it unchanged, and a
DISCARDED one is 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from meterplex.platform import audit
from meterplex.platform.audit import Actor
from meterplex.platform.clock import Clock, system_clock
from meterplex.platform.dead_letters import (
    DeadLetterItem,
    DeadLetterStatus,
    RecordKind,
    get_dead_letter,
    transition,
)
from meterplex.platform.errors import Conflict, NotFound
from meterplex.platform.observability import logger


class Invoker(Protocol):
    def invoke(self, function: str, event: dict[str, Any]) -> Any: ...


class DeliveryFailed(Exception):
    """The consumer could not be invoked, or its invocation raised."""


def not_found(id_: str) -> NotFound:
    return NotFound(f"Dead letter {id_} not found", code="DEAD_LETTER_NOT_FOUND")


def redelivery_event(item: DeadLetterItem) -> dict[str, Any]:
    """The trigger's event carrying only this dead letter's record."""
    record = json.loads(item.record) if item.record else None
    kind = RecordKind(item.kind or RecordKind.KAFKA)
    if kind is RecordKind.SQS:
        message = record or {"messageId": item.source.removeprefix("sqs:"), "body": item.payload}
        return {"Records": [message]}
    if record is None:
        raise Conflict(
            f"This dead letter kept no record to re-deliver: {item.reason}",
            code="DEAD_LETTER_NOT_REPLAYABLE",
        )
    if kind is RecordKind.STREAM:
        return {"Records": [record]}
    partition = f"{record.get('topic')}-{record.get('partition')}"
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": "",
        "bootstrapServers": "",
        "records": {partition: [record]},
    }


def _failures(result: Any) -> list[Any]:
    if isinstance(result, dict):
        return list(result.get("batchItemFailures") or [])
    return []


class DeadLetterService:
    """`invoker`: makes the Lambda invoker (per retry; its client is shared). `targets`: consumer
    name → the function to invoke (its physical name or ARN); a consumer missing from it is
    invoked by its own name (the local cloud's names)."""

    def __init__(
        self,
        invoker: Callable[[], Invoker],
        targets: Mapping[str, str] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._invoker_source = invoker
        self._targets = dict(targets or {})
        self._clock = clock

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        return self._invoker_source().invoke(function, event)

    def get(self, id_: str) -> DeadLetterItem:
        item = get_dead_letter(id_)
        if item is None:
            raise not_found(id_)
        return item

    def retry(self, id_: str, actor: Actor) -> DeadLetterItem:
        item = self.get(id_)
        if item.current_status is DeadLetterStatus.DISCARDED:
            raise Conflict(f"Dead letter {id_} was discarded", code="DEAD_LETTER_DISCARDED")
        if item.current_status is DeadLetterStatus.RETRIED:
            return item  # already re-delivered and processed: nothing to do
        event = redelivery_event(item)
        function = self._targets.get(item.consumer, item.consumer)
        started = item.failedAt
        reason: str | None = None
        try:
            result = self._invoke(function, event)
            if _failures(result):
                reason = "retry failed: the consumer reported the record as failed again"
        except Exception as error:
            reason = f"retry failed: {type(error).__name__}: {error}"
        after = get_dead_letter(id_) or item
        if reason is None and after.failedAt != started:
            reason = after.reason  # the consumer dead-lettered it again: still poison
        now = self._clock.now()
        if reason is None:
            return self._move(after, DeadLetterStatus.RETRIED, actor, now, action="retry", retried=True)
        logger.warning("dead letter retry failed", dead_letter_id=id_, consumer=item.consumer, reason=reason)
        return self._move(
            after, DeadLetterStatus.OPEN, actor, now, action="retry", retried=True, reason=reason
        )

    def discard(self, id_: str, reason: str, actor: Actor) -> DeadLetterItem:
        item = self.get(id_)
        if item.current_status is DeadLetterStatus.DISCARDED:
            return item
        now = self._clock.now()
        return self._move(
            item, DeadLetterStatus.DISCARDED, actor, now, action="discard", discard_reason=reason
        )

    def _move(
        self,
        item: DeadLetterItem,
        to: DeadLetterStatus,
        actor: Actor,
        now: datetime,
        *,
        action: str,
        retried: bool = False,
        reason: str | None = None,
        discard_reason: str | None = None,
    ) -> DeadLetterItem:
        record = audit.event(
            f"dead_letter.{action}",
            actor=actor,
            tenant_id=item.tenantId,
            resource="dead_letter",
            resource_id=item.id,
            action=action,
            before={"status": item.current_status.value, "reason": item.reason},
            after={"status": to.value, "reason": reason or item.reason, "discardReason": discard_reason},
        )
        if not transition(
            item, to, at=now, audit=record, reason=reason, discard_reason=discard_reason, retried=retried
        ):
            raise Conflict(
                f"Dead letter {item.id} changed meanwhile; read it again", code="DEAD_LETTER_CHANGED"
            )
        return self.get(item.id)
