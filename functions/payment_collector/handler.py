"""payment_collector: the invoice lifecycle (meterplex.billing.v1) → collections: a finalized
invoice's first payment attempt (automatic collection) or overdue watch (manual); a paid or voided
invoice's collection closed. See meterplex.payments.collection and ADR 0060."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.billing import events as invoice_events
from meterplex.payments.dependencies import collector
from meterplex.platform.clock import per_invocation
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger, metrics, tracer

consumer = KafkaConsumer("payment_collector", domain_event_of)


def collect(event: DomainEvent) -> str:
    changes = (event.data or {}).get("changes") if isinstance(event.data, dict) else None
    if not isinstance(changes, dict) or "id" not in changes:
        return "not an invoice event"  # a refund, for the ledger
    if event.type == invoice_events.FINALIZED:
        collector().invoice_finalized(event.tenantId, changes)
        return f"collection of invoice {changes['id']} started"
    if event.type in (invoice_events.PAID, invoice_events.VOIDED):
        collector().invoice_settled(
            event.tenantId, str(changes["id"]), voided=event.type == invoice_events.VOIDED
        )
        return f"collection of invoice {changes['id']} closed"
    return "nothing to collect"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context, collect)
