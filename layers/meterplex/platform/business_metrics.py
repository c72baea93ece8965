"""The metric contract (ADR 0100): every business metric's name, in one place.

The code that emits a metric and the CDK that graphs and alarms it import the same constant, so a
renamed metric cannot leave an alarm watching nothing. Namespace `Meterplex`; the ONLY dimension
is Powertools' `service` (`meterplex-<function>`): never a tenant, user, plan or any id — ids go in
log lines or EMF properties (`metrics.add_metadata`), which are not dimensions.
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from meterplex.platform.observability import metrics

USAGE_EVENTS_ACCEPTED = "UsageEventsAccepted"  # usage_api
USAGE_EVENTS_DUPLICATE = "UsageEventsDuplicate"  # usage_api
USAGE_EVENTS_REJECTED = "UsageEventsRejected"  # usage_api
USAGE_EVENTS_COUNTED = "UsageEventsCounted"  # usage_aggregator: newly counted, not re-deliveries
USAGE_EVENTS_ALREADY_COUNTED = "UsageEventsAlreadyCounted"  # usage_aggregator: re-deliveries
USAGE_INGEST_TO_COUNTED_MS = "UsageIngestToCountedMs"  # usage_aggregator, per counted event
CONSUME_REJECTED = "ConsumeRejected"  # entitlements_api: a consume refused
INVOICES_FINALIZED = "InvoicesFinalized"  # billing_api (by hand), invoice_worker (scheduled)
PAYMENTS_FAILED = "PaymentsFailed"  # payment_events: an attempt's FAILED state written
WEBHOOK_DELIVERIES_EXHAUSTED = "WebhookDeliveriesExhausted"  # webhook_delivery
RECONCILIATION_ISSUES = "ReconciliationIssues"  # reconciler: open issues of a run
DEAD_LETTERS = "DeadLetters"  # platform.dead_letters: a record set aside for an operator

# The metrics of the issue-15 contract (PHASE 4): each is asserted on the real code paths in
# tests/integration/test_business_metrics.py.
CONTRACT = (
    USAGE_EVENTS_ACCEPTED,
    USAGE_EVENTS_DUPLICATE,
    USAGE_EVENTS_REJECTED,
    USAGE_EVENTS_COUNTED,
    USAGE_INGEST_TO_COUNTED_MS,
    CONSUME_REJECTED,
    INVOICES_FINALIZED,
    PAYMENTS_FAILED,
    WEBHOOK_DELIVERIES_EXHAUSTED,
    RECONCILIATION_ISSUES,
    DEAD_LETTERS,
)


def count(name: str, value: int = 1) -> None:
    """Add `value` to the Count metric `name` (flushed by the handler's `@metrics.log_metrics`)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    """One sample of the Milliseconds metric `name` (each sample counts towards its percentiles)."""
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)
