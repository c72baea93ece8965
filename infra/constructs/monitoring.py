"""Alarms from the service level objectives and one dashboard with a row per capability (ADR 0100).

Alarms: ingest → counted p99 > 2 s (the usage SLO), API 5xx rate, function errors and throttles,
DLQ depth, stream iterator age, Kafka consumer lag (OffsetLag), dead letters stored, a scheduled
function that did not run (a missed daily billing run is no invoices), reconciliation issues,
payments' own (ADR 0060: a provider event dead-lettered, a burst of webhooks that do not verify)
and outbound webhooks' (ADR 0080: exhausted deliveries, a queue whose oldest message waits).
Every alarm's description ends with the section of docs/runbook.md that says what to do
(tests/infra/test_observability.py checks each link). Alarms notify an SNS topic (subscribe with
`-c alarmEmail=`). Business metrics are Powertools EMF, namespace `Meterplex`, dimension `service`
only (`meterplex-<function>`): never a tenant or user id.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.config import StageConfig
from infra.constructs.dashboard import PERIOD, RUNBOOK, Signals, build_dashboard, service_metric
from meterplex.platform import business_metrics as bm

INGEST_TO_COUNTED_P99_MS = 2_000  # SLO: ingest → counted p99 ≤ 2 s
ITERATOR_AGE_MS = 60_000  # the outbox is more than a minute behind
OFFSET_LAG = 1_000  # records a consumer group is behind
API_5XX_RATE_PERCENT = 1  # availability SLO 99.9 %: 1 % for 10 minutes burns a day's error budget
API_5XX_MIN_REQUESTS = 20  # in 5 minutes: below this one failed request is not a rate
QUEUE_AGE_S = 900  # a queued attempt waited 15 minutes: the delivery workers are not keeping up
WEBHOOKS_REJECTED = 10  # in 5 minutes: Stripe retries a refused webhook, so real ones are few
USAGE_AGGREGATOR = "usage_aggregator"
RECONCILER = "reconciler"  # emits ReconciliationIssues: open issues of each run (ADR 0095)
# The functions' own metrics (Powertools EMF: the `service` dimension is the function's service name):
# payments' (ADR 0060) and outbound webhooks' (ADR 0080). (function, metric, threshold, what, runbook)
SERVICE_ALARMS = (
    (
        "payment_events",
        "PaymentEventsDeadLettered",
        1,
        "a provider event was dead-lettered (unknown payment, or failing)",
        "payment-events-dead-lettered",
    ),
    (
        "webhooks_api",
        "PaymentWebhooksRejected",
        WEBHOOKS_REJECTED,
        "provider webhooks are failing verification",
        "payment-webhooks-rejected",
    ),
    (
        "webhook_delivery",
        bm.WEBHOOK_DELIVERIES_EXHAUSTED,
        1,
        "a webhook delivery failed every attempt of its 3-day retry schedule",
        "webhook-deliveries-exhausted",
    ),
)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        functions: dict[str, lambda_.Function],
        api: apigw.RestApi,
        dead_letter_queues: dict[str, sqs.Queue],
        stream_functions: list[str],
        kafka_functions: list[str],
        scheduled_functions: tuple[str, ...] = (),
        queues: dict[str, sqs.Queue] | None = None,
        dead_lettering_functions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(
            self,
            "Alarms",
            display_name=f"Meterplex {config.stage} alarms",
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        signals = Signals(
            api=api,
            functions=functions,
            ingest_to_counted_slo_ms=INGEST_TO_COUNTED_P99_MS,
            api_5xx_rate_percent=API_5XX_RATE_PERCENT,
        )

        if USAGE_AGGREGATOR in functions:
            self._alarm(
                "UsageIngestToCountedP99",
                service_metric(USAGE_AGGREGATOR, bm.USAGE_INGEST_TO_COUNTED_MS, statistic="p99"),
                INGEST_TO_COUNTED_P99_MS,
                "usage events take more than 2 s (p99) from acceptance to their counter (SLO)",
                "usage-counting-late",
                periods=3,
                datapoints=2,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )

        requests = api.metric_count(period=PERIOD, statistic="Sum")
        server_errors = api.metric_server_error(period=PERIOD, statistic="Sum")
        signals.api_5xx_rate = cloudwatch.MathExpression(
            expression=f"IF(requests >= {API_5XX_MIN_REQUESTS}, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": server_errors},
            period=PERIOD,
            label="5xx rate %",
        )
        self._alarm(
            "Api5xxRate",
            signals.api_5xx_rate,
            API_5XX_RATE_PERCENT,
            f"API Gateway answered 5xx to ≥ {API_5XX_RATE_PERCENT} % of requests",
            "api-5xx-rate",
            periods=2,
        )

        for name, function in functions.items():
            self._alarm(
                f"{_pascal(name)}Errors",
                function.metric_errors(period=PERIOD, statistic="Sum", label=name),
                1,
                f"{name} raised errors",
                "function-errors",
            )
        # Throttling is the account's concurrency running out: one alarm on the account-wide metric
        # (CloudFormation allows 500 resources a stack; the dashboard shows which function it was).
        account_throttles = cloudwatch.Metric(
            namespace="AWS/Lambda", metric_name="Throttles", period=PERIOD, statistic="Sum"
        )
        self._alarm(
            "LambdaThrottles",
            account_throttles,
            1,
            "Lambda functions were throttled (see the dashboard)",
            "lambda-throttles",
        )

        for key, queue in dead_letter_queues.items():
            depth = queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum", label=key
            )
            self._alarm(
                f"{key}DlqDepth",
                depth,
                1,
                f"records failed into the {key} dead-letter queue",
                "dead-letter-queue-depth",
            )
            signals.dlq_depth[key] = depth
        for name in sorted(set(stream_functions)):
            age = functions[name].metric(
                "IteratorAge", period=PERIOD, statistic="Maximum", label=f"{name} iterator age"
            )
            self._alarm(
                f"{_pascal(name)}IteratorAge",
                age,
                ITERATOR_AGE_MS,
                f"{name} is behind its stream",
                "stream-iterator-age",
            )
            signals.iterator_age[name] = age
        for name in sorted(set(kafka_functions)):
            lag = functions[name].metric(
                "OffsetLag", period=PERIOD, statistic="Maximum", label=f"{name} offset lag"
            )
            self._alarm(
                f"{_pascal(name)}OffsetLag",
                lag,
                OFFSET_LAG,
                f"{name}'s consumer group is behind",
                "kafka-consumer-lag",
                periods=3,
            )
            signals.offset_lag[name] = lag
        for name in sorted(set(dead_lettering_functions)):
            # `platform.dead_letters.dead_letter` (ADR 0091): the store gained a record
            stored = service_metric(name, bm.DEAD_LETTERS, label=f"{name} dead letters")
            self._alarm(
                f"{_pascal(name)}DeadLetters", stored, 1, f"{name} dead-lettered a record", "dead-letters"
            )
            signals.dead_letters[name] = stored
        for name in sorted(set(scheduled_functions)):
            runs = functions[name].metric_invocations(period=Duration.days(1), statistic="Sum", label=name)
            self._alarm(
                f"{_pascal(name)}DidNotRun",
                runs,
                1,
                f"{name} was not invoked for a day: its schedule did not fire",
                "schedule-did-not-run",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )
        for name, queue in sorted((queues or {}).items()):
            age = queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic="Maximum", label=name
            )
            self._alarm(
                f"{_pascal(name)}QueueAge",
                age,
                QUEUE_AGE_S,
                f"{name}: messages wait",
                "queue-messages-waiting",
                periods=2,
            )
            signals.queue_age[name] = age
        if RECONCILER in functions:
            issues = service_metric(
                RECONCILER,
                bm.RECONCILIATION_ISSUES,
                statistic="Maximum",
                period=Duration.days(1),
                label="reconciliation issues",
            )
            self._alarm(
                "ReconciliationIssues",
                issues,
                1,
                "a reconciliation run found issues it could not resolve",
                "reconciliation-issues",
            )
        for function_name, metric_name, threshold, description, runbook in SERVICE_ALARMS:
            if function_name in functions:
                metric = service_metric(function_name, metric_name)
                self._alarm(metric_name, metric, threshold, description, runbook)

        self.dashboard = build_dashboard(self, "Dashboard", name=config.name("dashboard"), signals=signals)

    def _alarm(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        runbook: str,
        *,
        periods: int = 1,
        datapoints: int | None = None,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        """An alarm on `metric` notifying the topic; `runbook` is the anchor of its section."""
        alarm = cloudwatch.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=f"{description}. Runbook: {RUNBOOK}#{runbook}",
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.replace("-", "_").split("_"))
