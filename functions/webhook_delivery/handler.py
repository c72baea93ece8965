"""webhook_delivery: queued deliveries (SQS) → claimed, signed, sent, recorded, their retries
woken; the `webhook-retries` schedule → due deliveries queued (the sweep). See
meterplex.webhooks.delivery (ADR 0080)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from meterplex.platform import business_metrics
from meterplex.platform.clock import business_clock, parse_iso, per_invocation, system_clock
from meterplex.platform.dead_letters import dead_letter
from meterplex.platform.observability import correlated, logger, metrics, tracer
from meterplex.platform.settings import WebhookDeliverySettings, load
from meterplex.platform.sqs_messages import correlation_id_of_message
from meterplex.webhooks.delivery import DeliveryWorker, Policy, Result
from meterplex.webhooks.queue import AttemptQueue, ref_from
from meterplex.webhooks.repository import WebhookRepository
from meterplex.webhooks.secrets import SecretBox
from meterplex.webhooks.sender import send
from meterplex.webhooks.ssrf import system_resolver

settings = load(WebhookDeliverySettings)
METRICS = {
    Result.SUCCEEDED: "WebhookDeliveriesSucceeded",
    Result.RETRYING: "WebhookAttemptsFailed",
    Result.EXHAUSTED: business_metrics.WEBHOOK_DELIVERIES_EXHAUSTED,
    Result.FAILED: "WebhookDeliveriesFailed",
}


def count(result: Result) -> None:
    if result in METRICS:
        metrics.add_metric(name=METRICS[result], unit=MetricUnit.Count, value=1)


worker = DeliveryWorker(
    WebhookRepository(),
    SecretBox(settings.webhook_key),
    AttemptQueue(settings.webhook_queue_url),
    Policy(local=settings.is_local, timeout_s=settings.webhook_timeout_s),
    send=send,
    resolve=system_resolver,
    on_result=count,
)


def attempt_batch(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each message's delivery attempted (concurrently), under the message's correlation id; the
    ones that raised are reported as batch item failures (SQS redelivers them after the visibility
    timeout); poison is dead-lettered."""
    refs = []
    for record in records:
        correlation_id = correlation_id_of_message(record)
        try:
            refs.append((record["messageId"], ref_from(record.get("body") or ""), correlation_id))
        except (KeyError, TypeError, ValueError) as error:
            source = f"sqs:{record.get('messageId')}"
            with correlated(correlation_id):
                logger.error("poison webhook message dead-lettered", source=source, reason=str(error))
                dead_letter(
                    consumer="webhook_delivery",
                    source=source,
                    reason=str(error) or type(error).__name__,
                    payload=str(record.get("body"))[:10_000],
                    at=system_clock.now(),
                )
    results = worker.attempt_all([ref for _, ref, _ in refs], business_clock.now(), [c for _, _, c in refs])
    failed = [
        message_id
        for (message_id, _, _), result in zip(refs, results, strict=True)
        if isinstance(result, Exception)
    ]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
@per_invocation  # business time: one test-clock read per invocation
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Scheduled Event":
        fired = event.get("time")
        as_of = parse_iso(fired) if isinstance(fired, str) and fired else business_clock.now()
        return worker.sweep(as_of)
    return attempt_batch(list(event.get("Records") or []))
