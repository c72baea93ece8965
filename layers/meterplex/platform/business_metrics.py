"""The metric contract (ADR 0100): every business metric's name, in one place.

The code that emits a metric and the CDK that graphs and alarms it import the same constant, so a
renamed metric cannot leave an alarm watching nothing. Namespace `Meterplex`; the ONLY dimension
is Powertools' `service` (`meterplex-<function>`): never a tenant, user, plan or any id — ids go in
log lines or EMF properties (`metrics.add_metadata`), which are not dimensions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

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

# The metrics of issue 15's contract (ADR 0100): each is asserted on the real code paths in
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


MAX_VALUES = 100  # CloudWatch EMF: at most 100 values of one metric per record


def milliseconds_samples(name: str, values: Sequence[float]) -> None:
    """Samples of the Milliseconds metric `name` (each counts towards its percentiles), printed
    now as EMF records of ≤ 100 values with the metric set's namespace and `service` dimension.
    Not `add_metric` per sample: Powertools formats the metric's whole value list into a debug
    message on every call — ~100 µs a sample near 100 values, 50 ms for a batch of 500
    (`python -m bench.metrics`)."""
    if not values or is_metrics_disabled():
        return
    for start in range(0, len(values), MAX_VALUES):
        chunk = [float(v) for v in values[start : start + MAX_VALUES]]
        metric = {"Unit": MetricUnit.Milliseconds.value, "StorageResolution": 60, "Value": chunk}
        record = metrics.serialize_metric_set(metrics={name: metric}, metadata={})
        print(json.dumps(record, separators=(",", ":")))  # noqa: T201 - EMF is stdout, as Powertools prints it
