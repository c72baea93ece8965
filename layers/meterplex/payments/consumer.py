"""`payment_events`: stored provider events (the core table's stream, INSERTs of `PAYEVENT` items)
→ the processor, one record at a time (Powertools BatchProcessor, partial batch failures).

* An event naming no known payment or refund, or not readable: dead-lettered at once with the
  reason (consumer `payment_events`) and marked DEAD_LETTERED — it answered 200 and is kept.
* Anything else is transient: the record is reported failed (the event source mapping retries it)
  and the event item counts the failure; the 5th failure dead-letters it with the last error.

Each record is handled under the correlation id of the webhook request that stored it and leaves
one INFO line with what became of it (ADR 0105).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.payments.models import EventStatus, ProviderEvent
from meterplex.payments.processor import EventProcessor
from meterplex.payments.repository import PaymentsRepository
from meterplex.platform.clock import invocation_scope, system_clock
from meterplex.platform.dead_letters import RecordKind, dead_letter
from meterplex.platform.observability import logger, metrics
from meterplex.platform.relay import stream_source_of

CONSUMER = "payment_events"
MAX_FAILURES = 5


def event_of(record: DynamoDBRecord) -> ProviderEvent:
    image = (record.raw_event.get("dynamodb") or {}).get("NewImage") or {}
    text = (image.get("event") or {}).get("S")
    if not text:
        raise ValueError("not a stored provider event (no `event` attribute)")
    return ProviderEvent.from_json(text)


class PaymentEventsConsumer:
    def __init__(self, processor: EventProcessor, repository: PaymentsRepository) -> None:
        self._processor = processor
        self._repo = repository
        self._batch = BatchProcessor(event_type=EventType.DynamoDBStreams)

    def _dead_letter(self, event: ProviderEvent | None, record: DynamoDBRecord, reason: str) -> None:
        source = (
            f"{event.provider}#{event.event_id}"
            if event
            else str(record.dynamodb.sequence_number if record.dynamodb else "")
        )
        logger.error("provider event dead-lettered", source=source, reason=reason)
        metrics.add_metric(name="PaymentEventsDeadLettered", unit=MetricUnit.Count, value=1)
        payload = event.to_json() if event else str(record.raw_event)[:100_000]
        dead_letter(  # the stream record itself: a retry re-delivers it (ADR 0091)
            consumer=CONSUMER,
            source=source,
            reason=reason,
            payload=payload,
            at=system_clock.now(),
            record=dict(record.raw_event),
            kind=RecordKind.STREAM,
            tenant_id=event.tenant_id if event else None,
        )
        if event is not None:
            self._repo.close_event(event, EventStatus.DEAD_LETTERED, reason[:1000])

    def handle(self, record: DynamoDBRecord) -> str:
        image = (record.raw_event.get("dynamodb") or {}).get("NewImage") or {}
        logger.set_correlation_id((image.get("correlationId") or {}).get("S"))
        source = stream_source_of(record.raw_event)
        try:
            outcome = self._outcome(record)
        except Exception as error:
            logger.warning(
                "provider event failed; will be retried", source=source, error=type(error).__name__
            )
            raise
        logger.info("provider event processed", outcome=outcome, source=source)
        return outcome

    def _outcome(self, record: DynamoDBRecord) -> str:
        try:
            event = event_of(record)
        except (ValueError, TypeError, KeyError) as error:
            self._dead_letter(None, record, f"unreadable stored event: {error}")
            return "dead-lettered"
        try:
            with invocation_scope():  # one business-clock read per event
                return self._processor.process(event)
        except ValueError as error:  # UnknownTarget and malformed content: poison
            self._dead_letter(event, record, str(error))
            return "dead-lettered"
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            if self._repo.count_failure(event, reason) >= MAX_FAILURES:
                self._dead_letter(event, record, f"failed {MAX_FAILURES} times; last: {reason}")
                return "dead-lettered"
            raise

    def run(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return dict(
            process_partial_response(
                event=event, record_handler=self.handle, processor=self._batch, context=context
            )
        )
