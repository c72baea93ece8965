"""Alarms and one dashboard: function errors and throttles, DLQ depth, stream iterator age, Kafka
consumer lag (OffsetLag), dead letters stored (> 0), API 5xx, a scheduled function that did not
run (a missed daily billing run is no invoices), payments' own (ADR 0060): a provider event
dead-lettered, a burst of webhooks that do not verify (a wrong signing secret, or someone forging
them), and outbound webhooks' (ADR 0080): exhausted deliveries, a queue whose oldest message waits.
Alarms notify an SNS topic (subscribe with `-c alarmEmail=`)."""

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

from infra.constructs.config import METRICS_NAMESPACE, StageConfig
from meterplex.platform.dead_letters import DEAD_LETTERED_METRIC

PERIOD = Duration.minutes(5)
ITERATOR_AGE_MS = 60_000  # the outbox is more than a minute behind
OFFSET_LAG = 1_000  # records a consumer group is behind
API_5XX = 5
QUEUE_AGE_S = 900  # a queued attempt waited 15 minutes: the delivery workers are not keeping up
WEBHOOKS_REJECTED = 10  # in 5 minutes: Stripe retries a refused webhook, so real ones are few
# The functions' own metrics (Powertools EMF: the `service` dimension is the function's service name):
# payments' (ADR 0060) and outbound webhooks' (ADR 0080).
SERVICE_ALARMS = (
    (
        "payment_events",
        "PaymentEventsDeadLettered",
        1,
        "a provider event was dead-lettered (unknown payment, or failing)",
    ),
    (
        "webhooks_api",
        "PaymentWebhooksRejected",
        WEBHOOKS_REJECTED,
        "provider webhooks are failing verification",
    ),
    (
        "webhook_delivery",
        "WebhookDeliveriesExhausted",
        1,
        "a webhook delivery failed every attempt of its 3-day retry schedule",
    ),
)
AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
RECONCILER = "reconciler"  # emits ReconciliationIssues: open issues of each run (ADR 0095)


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
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=config.name("dashboard"))

        api_5xx = api.metric_server_error(period=PERIOD, statistic="Sum")
        self._alarm("Api5xx", api_5xx, API_5XX, "API Gateway answered 5xx")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests, 4xx, 5xx",
                left=[api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD), api_5xx],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API latency p99", left=[api.metric_latency(period=PERIOD, statistic="p99")], width=12
            ),
        )

        errors, throttles, durations = [], [], []
        for name, function in functions.items():
            error_metric = function.metric_errors(period=PERIOD, statistic="Sum", label=name)
            throttle_metric = function.metric_throttles(period=PERIOD, statistic="Sum", label=name)
            self._alarm(f"{_pascal(name)}Errors", error_metric, 1, f"{name} raised errors")
            errors.append(error_metric)
            throttles.append(throttle_metric)
            durations.append(function.metric_duration(period=PERIOD, statistic="p99", label=name))
        # Throttling is the account's concurrency running out: one alarm on the account-wide metric
        # (CloudFormation allows 500 resources a stack; the dashboard shows which function it was).
        account_throttles = cloudwatch.Metric(
            namespace="AWS/Lambda", metric_name="Throttles", period=PERIOD, statistic="Sum"
        )
        self._alarm(
            "LambdaThrottles", account_throttles, 1, "Lambda functions were throttled (see the dashboard)"
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Function errors", left=errors, width=8),
            cloudwatch.GraphWidget(title="Function throttles", left=throttles, width=8),
            cloudwatch.GraphWidget(title="Function duration p99", left=durations, width=8),
        )

        pipeline_metrics: list[cloudwatch.IMetric] = []
        for key, queue in dead_letter_queues.items():
            depth = queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum", label=key
            )
            self._alarm(f"{key}DlqDepth", depth, 1, f"records failed into the {key} dead-letter queue")
            pipeline_metrics.append(depth)
        for name in sorted(set(stream_functions)):
            age = functions[name].metric(
                "IteratorAge", period=PERIOD, statistic="Maximum", label=f"{name} iterator age"
            )
            self._alarm(f"{_pascal(name)}IteratorAge", age, ITERATOR_AGE_MS, f"{name} is behind its stream")
            pipeline_metrics.append(age)
        for name in sorted(set(kafka_functions)):
            lag = functions[name].metric(
                "OffsetLag", period=PERIOD, statistic="Maximum", label=f"{name} offset lag"
            )
            self._alarm(
                f"{_pascal(name)}OffsetLag", lag, OFFSET_LAG, f"{name}'s consumer group is behind", periods=3
            )
            pipeline_metrics.append(lag)
        for name in sorted(set(dead_lettering_functions)):
            # EMF from `platform.dead_letters.dead_letter` (ADR 0091): the store gained a record
            stored = cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=DEAD_LETTERED_METRIC,
                dimensions_map={"service": f"meterplex-{name}"},
                period=PERIOD,
                statistic="Sum",
                label=f"{name} dead letters",
            )
            self._alarm(f"{_pascal(name)}DeadLettersStored", stored, 1, f"{name} dead-lettered a record")
            pipeline_metrics.append(stored)
        for name in sorted(set(scheduled_functions)):
            runs = functions[name].metric_invocations(period=Duration.days(1), statistic="Sum", label=name)
            self._alarm(
                f"{_pascal(name)}DidNotRun",
                runs,
                1,
                f"{name} was not invoked for a day: its schedule did not fire",
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )
        for name, queue in sorted((queues or {}).items()):
            age = queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic="Maximum", label=name
            )
            self._alarm(f"{_pascal(name)}QueueAge", age, QUEUE_AGE_S, f"{name}: messages wait", periods=2)
            pipeline_metrics.append(age)
        if RECONCILER in functions:
            issues = cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="ReconciliationIssues",
                dimensions_map={"service": f"meterplex-{RECONCILER}"},
                period=Duration.days(1),
                statistic="Maximum",
                label="reconciliation issues",
            )
            self._alarm(
                "ReconciliationIssues", issues, 1, "a reconciliation run found issues it could not resolve"
            )
            pipeline_metrics.append(issues)
        for function_name, metric_name, threshold, description in SERVICE_ALARMS:
            if function_name not in functions:
                continue
            metric = cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=metric_name,
                dimensions_map={"service": f"meterplex-{function_name}"},
                period=PERIOD,
                statistic="Sum",
            )
            self._alarm(metric_name, metric, threshold, description)
            pipeline_metrics.append(metric)
        if pipeline_metrics:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Pipeline: DLQ depth, iterator age, consumer lag", left=pipeline_metrics, width=24
                )
            )

    def _alarm(
        self,
        id: str,
        metric: cloudwatch.Metric,
        threshold: float,
        description: str,
        *,
        periods: int = 1,
        comparison: cloudwatch.ComparisonOperator = AT_LEAST,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = metric.create_alarm(
            self,
            id,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=comparison,
            treat_missing_data=missing,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)


def _pascal(name: str) -> str:
    return "".join(part.title() for part in name.replace("-", "_").split("_"))
