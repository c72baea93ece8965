"""audit_writer: the audit events among the domain topic's messages → the audit trail (idempotent;
poison → dead letters). Other domain events (subscription, payment… lifecycles) are not audit
records: their write's own audit event is (ADR 0090)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.audit.repository import keep_in_trail
from meterplex.platform.audit import is_audit_event
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger, metrics, tracer

CONSUMER = "audit_writer"
consumer = KafkaConsumer(CONSUMER, domain_event_of)


def keep(event: DomainEvent) -> str:
    if not is_audit_event(event):
        return "not an audit event"
    return "recorded" if keep_in_trail(event) else "already recorded"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context, keep)
