"""webhook_dispatcher: billing, payment, subscription and usage events (the webhook catalogue's
topics) → one delivery per (event, matching endpoint), created once, its first attempt queued;
poison → dead letters. See meterplex.webhooks.dispatch."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform.clock import business_clock, per_invocation
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger, metrics, tracer
from meterplex.platform.settings import WebhookDispatchSettings, load
from meterplex.webhooks.dispatch import Dispatcher
from meterplex.webhooks.queue import AttemptQueue
from meterplex.webhooks.repository import WebhookRepository

settings = load(WebhookDispatchSettings)
dispatcher = Dispatcher(WebhookRepository(), AttemptQueue(settings.webhook_queue_url))
consumer = KafkaConsumer("webhook_dispatcher", domain_event_of)


def dispatch(event: DomainEvent) -> str:
    result = dispatcher.dispatch(event, business_clock.now())
    if result.created:
        metrics.add_metric(name="WebhookDeliveriesCreated", unit=MetricUnit.Count, value=result.created)
    return f"{result.created} deliveries created, {result.replayed} already created"


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation  # business time: one test-clock read per batch
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    dispatcher.begin_batch()
    return consumer.run(event, context, dispatch)
