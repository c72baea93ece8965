"""invoice_worker: invoice.due messages → each due billing step of the subscription settled
exactly once (invoiced, finalized, advanced); poison → dead letters. See meterplex.billing.service."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.billing.dependencies import billing_service
from meterplex.billing.events import InvoiceDue, invoice_due_from
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.observability import logger, metrics, tracer


def parse(record: KafkaEventRecord) -> InvoiceDue:
    return invoice_due_from(domain_event_of(record))


consumer = KafkaConsumer("invoice_worker", parse)


def settle(due: InvoiceDue) -> str:
    result = billing_service().settle(due.tenant_id, due.subscription_id, due.as_of)
    metrics.add_metric(name="InvoicesIssued", unit=MetricUnit.Count, value=len(result.invoices))
    return f"subscription {due.subscription_id} settled: {len(result.invoices)} invoices"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return consumer.run(event, context, settle)
