"""One dashboard, a row per capability (ADR 0100): a header naming what the row shows and its
runbook section, the capability's business metrics (EMF, `service` dimension only), its functions'
errors and p99 duration, and the pipeline signals of its functions (stream iterator age, Kafka
consumer lag, queue age, dead letters). `CAPABILITIES` lists every function of the topology once
(tests/infra/test_observability.py checks it), so a new function has a row to go in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.config import METRICS_NAMESPACE
from meterplex.platform import business_metrics as bm

PERIOD = Duration.minutes(5)
RUNBOOK = "docs/runbook.md"
WIDTH, GRAPH_WIDTH = 24, 8  # a dashboard row is 24 units wide: three graphs a row


@dataclass(frozen=True)
class Capability:
    title: str
    summary: str
    runbook: str  # the anchor of the row's first runbook section
    functions: tuple[str, ...]
    # (metric, the functions that emit it): graphed as Sum per function
    business: tuple[tuple[str, tuple[str, ...]], ...] = ()


API = Capability(
    "API",
    "Every route behind API Gateway: requests, 4xx, 5xx and its rate (alarm ≥ 1 %), latency.",
    "api-5xx-rate",
    ("identity_api", "catalog_api", "subscriptions_api", "docs_api", "health_api"),
)
USAGE = Capability(
    "Usage pipeline",
    "usage_api → usage table stream → outbox_relay → Kafka → usage_aggregator → counters. "
    "SLO: ingest → counted p99 ≤ 2 s.",
    "usage-counting-late",
    ("usage_api", "outbox_relay", "usage_aggregator"),
    (
        (bm.USAGE_EVENTS_ACCEPTED, ("usage_api",)),
        (bm.USAGE_EVENTS_DUPLICATE, ("usage_api",)),
        (bm.USAGE_EVENTS_REJECTED, ("usage_api",)),
        (bm.USAGE_EVENTS_COUNTED, ("usage_aggregator",)),
        (bm.USAGE_EVENTS_ALREADY_COUNTED, ("usage_aggregator",)),
    ),
)
HOT_PATH = Capability(
    "Hot path (entitlements)",
    "check and consume on every customer request, and the authorizer in front of them.",
    "function-errors",
    ("entitlements_api", "authorizer"),
    ((bm.CONSUME_REJECTED, ("entitlements_api",)),),
)
BILLING = Capability(
    "Billing",
    "The daily billing run, invoices finalized (by hand and scheduled), the ledger.",
    "schedule-did-not-run",
    ("billing_api", "billing_scheduler", "invoice_worker", "ledger_writer"),
    (
        (bm.INVOICES_FINALIZED, ("billing_api", "invoice_worker")),
        ("InvoicesIssued", ("invoice_worker",)),
        ("SubscriptionsDue", ("billing_scheduler",)),
    ),
)
PAYMENTS = Capability(
    "Payments",
    "Collection of finalized invoices, provider webhooks, failed attempts and dunning.",
    "payment-events-dead-lettered",
    ("payments_api", "payment_collector", "payment_events", "payments_scheduler", "webhooks_api"),
    (
        (bm.PAYMENTS_FAILED, ("payment_events",)),
        ("PaymentEventsDeadLettered", ("payment_events",)),
        ("PaymentWebhooksRejected", ("webhooks_api",)),
    ),
)
WEBHOOKS = Capability(
    "Webhooks",
    "Outbound webhooks: deliveries created, sent, retried, exhausted; the delivery queue.",
    "webhook-deliveries-exhausted",
    ("webhook_endpoints_api", "webhook_dispatcher", "webhook_delivery"),
    (
        ("WebhookDeliveriesCreated", ("webhook_dispatcher",)),
        ("WebhookDeliveriesSucceeded", ("webhook_delivery",)),
        ("WebhookAttemptsFailed", ("webhook_delivery",)),
        (bm.WEBHOOK_DELIVERIES_EXHAUSTED, ("webhook_delivery",)),
        ("WebhookDeliveriesFailed", ("webhook_delivery",)),
    ),
)
ADMIN = Capability(
    "Admin and reconciliation",
    "Reconciliation issues, usage re-driven, dead letters of every consumer, the DLQs, audit.",
    "reconciliation-issues",
    ("admin_api", "audit_writer", "dead_letter_intake", "reconciler", "reconciliation_api"),
    (("UsageEventsRedriven", ("reconciler",)),),
)
CAPABILITIES = (API, USAGE, HOT_PATH, BILLING, PAYMENTS, WEBHOOKS, ADMIN)


@dataclass
class Signals:
    """What the alarms measured, for the rows to show (one metric object per signal)."""

    api: apigw.RestApi
    functions: dict[str, lambda_.Function]
    api_5xx_rate: cloudwatch.IMetric | None = None
    dlq_depth: dict[str, cloudwatch.IMetric] = field(default_factory=dict)
    iterator_age: dict[str, cloudwatch.IMetric] = field(default_factory=dict)
    offset_lag: dict[str, cloudwatch.IMetric] = field(default_factory=dict)
    dead_letters: dict[str, cloudwatch.IMetric] = field(default_factory=dict)
    queue_age: dict[str, cloudwatch.IMetric] = field(default_factory=dict)
    # the alarms' thresholds, drawn as lines on their graphs
    ingest_to_counted_slo_ms: float | None = None
    api_5xx_rate_percent: float | None = None


def build_dashboard(scope: Construct, id: str, *, name: str, signals: Signals) -> cloudwatch.Dashboard:
    dashboard = cloudwatch.Dashboard(scope, id, dashboard_name=name)
    for capability in CAPABILITIES:
        functions = [f for f in capability.functions if f in signals.functions]
        dashboard.add_widgets(_header(capability))
        widgets = _specific(capability, signals)
        business = _business(capability, signals)
        if business:
            widgets.append(_graph(f"{capability.title}: business events", business))
        widgets += _functions(capability.title, functions, signals)
        pipeline = _pipeline(capability, functions, signals)
        if pipeline:
            widgets.append(_graph(f"{capability.title}: backlog", pipeline))
        per_row = WIDTH // GRAPH_WIDTH
        for start in range(0, len(widgets), per_row):
            dashboard.add_widgets(*widgets[start : start + per_row])
    return dashboard


def _header(capability: Capability) -> cloudwatch.TextWidget:
    return cloudwatch.TextWidget(
        markdown=f"## {capability.title}\n{capability.summary} Runbook: `{RUNBOOK}#{capability.runbook}`",
        width=WIDTH,
        height=2,
    )


def _business(capability: Capability, signals: Signals) -> list[cloudwatch.IMetric]:
    return [
        service_metric(function, metric, label=f"{metric} ({function})")
        for metric, emitters in capability.business
        for function in emitters
        if function in signals.functions
    ]


def _specific(capability: Capability, signals: Signals) -> list[cloudwatch.IWidget]:
    """The row's own graphs: the API's traffic and error rate, the usage SLO."""
    if capability is API:
        api = signals.api
        rate = [signals.api_5xx_rate] if signals.api_5xx_rate is not None else []
        return [
            _graph(
                "API: requests, 4xx, 5xx",
                [
                    api.metric_count(period=PERIOD),
                    api.metric_client_error(period=PERIOD),
                    api.metric_server_error(period=PERIOD),
                ],
            ),
            _graph("API: 5xx rate %", rate, line=signals.api_5xx_rate_percent, line_label="alarm"),
            _graph(
                "API: latency p50, p99",
                [
                    api.metric_latency(period=PERIOD, statistic=s, label=f"latency {s}")
                    for s in ("p50", "p99")
                ],
            ),
        ]
    if capability is USAGE and "usage_aggregator" in signals.functions:
        latency = [
            service_metric(
                "usage_aggregator", bm.USAGE_INGEST_TO_COUNTED_MS, statistic=s, label=f"ingest → counted {s}"
            )
            for s in ("p50", "p99")
        ]
        return [
            _graph(
                "Usage pipeline: ingest → counted (ms)",
                latency,
                line=signals.ingest_to_counted_slo_ms,
                line_label="SLO: p99 at most this",
            )
        ]
    if capability is ADMIN and "reconciler" in signals.functions:
        issues = service_metric(
            "reconciler", bm.RECONCILIATION_ISSUES, statistic="Maximum", label="open issues of a run"
        )
        return [_graph("Admin and reconciliation: reconciliation issues", [issues])]
    return []


def _functions(title: str, functions: list[str], signals: Signals) -> list[cloudwatch.IWidget]:
    if not functions:
        return []
    by_name = signals.functions
    return [
        _graph(
            f"{title}: function errors, throttles",
            [by_name[f].metric_errors(period=PERIOD, statistic="Sum", label=f"{f} errors") for f in functions]
            + [
                by_name[f].metric_throttles(period=PERIOD, statistic="Sum", label=f"{f} throttles")
                for f in functions
            ],
        ),
        _graph(
            f"{title}: function duration p99",
            [by_name[f].metric_duration(period=PERIOD, statistic="p99", label=f) for f in functions],
        ),
    ]


def _pipeline(capability: Capability, functions: list[str], signals: Signals) -> list[cloudwatch.IMetric]:
    metrics = [signals.iterator_age[f] for f in functions if f in signals.iterator_age]
    metrics += [signals.offset_lag[f] for f in functions if f in signals.offset_lag]
    if capability is WEBHOOKS:
        metrics += list(signals.queue_age.values())
    if capability is ADMIN:
        metrics += list(signals.dead_letters.values()) + list(signals.dlq_depth.values())
    return metrics


def service_metric(
    function: str,
    metric: str,
    *,
    statistic: str = "Sum",
    period: Duration = PERIOD,
    label: str | None = None,
) -> cloudwatch.Metric:
    """A business metric of one function: its only dimension is the Powertools service name."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric,
        dimensions_map={"service": f"meterplex-{function}"},
        period=period,
        statistic=statistic,
        label=label,
    )


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, line: float | None = None, line_label: str = ""
) -> cloudwatch.GraphWidget:
    annotations = (
        [cloudwatch.HorizontalAnnotation(value=line, label=line_label)] if line is not None else None
    )
    return cloudwatch.GraphWidget(
        title=title, left=metrics, left_annotations=annotations, width=GRAPH_WIDTH, height=6
    )
