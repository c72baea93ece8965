"""billing_scheduler: the daily billing run (EventBridge Scheduler) → one invoice.due message per
subscription due by the run's time, on meterplex.invoicing.v1 (key = tenant). See
meterplex.billing.scheduler; the test clock polls its completion check."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.billing.events import InvoiceDue
from meterplex.billing.scheduler import fan_out, run_time
from meterplex.platform import topics
from meterplex.platform.kafka import create_producer, produce_all
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.settings import KafkaSettings, load
from meterplex.subscriptions.repository import DynamoSubscriptionRepository

producer = create_producer(load(KafkaSettings))
subscriptions = DynamoSubscriptionRepository()


def publish(messages: list[InvoiceDue]) -> int:
    return produce_all(producer, topics.INVOICING, ((m.tenant_id, m.envelope().to_json()) for m in messages))


# a billing run's correlation id is its schedule execution (the event id): its invoice.due messages,
# and what invoice_worker writes for them, can be followed with it (ADR 0105)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    as_of = run_time(event)
    result = fan_out(as_of, subscriptions.due(as_of), publish)
    metrics.add_metric(name="SubscriptionsDue", unit=MetricUnit.Count, value=result["due"])
    return result
