"""Payments in the synthesized stack (ADR 0060): public webhook routes (no authorizer), the stored
events' stream consumer (filtered to PAYEVENT inserts, partial batch failures, an on-failure queue),
the collector on the billing topic, the payments schedule, the Stripe secret read only by the
functions that call the provider, and payments' alarms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from infra import topology
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.test_service_stack import function_ids, function_ref, role_statements

PAYMENT_FUNCTIONS = (
    "payments_api",
    "webhooks_api",
    "payment_events",
    "payment_collector",
    "payments_scheduler",
)


def _variables(synth: Synthesized, name: str) -> dict[str, object]:
    resource = synth.resources[function_ids(synth)[name]]
    return resource["Properties"].get("Environment", {}).get("Variables", {})


def _stripe_secret_id(synth: Synthesized) -> str:
    [(logical_id, _)] = [
        (k, v)
        for k, v in synth.of_type("AWS::SecretsManager::Secret").items()
        if v["Properties"]["Name"].endswith("-stripe")
    ]
    return logical_id


def test_webhook_routes_are_public_and_the_payment_routes_are_authorized(dev: Synthesized) -> None:
    methods = dev.of_type("AWS::ApiGateway::Method")
    by_path: dict[str, str] = {}
    ids = function_ids(dev)  # once: each call re-reads every nested stack (minutes under load)
    for method in methods.values():
        props = method["Properties"]
        uri = json.dumps(props.get("Integration", {}))
        for name in ("webhooks_api", "payments_api"):
            if ids[name] in uri:
                by_path.setdefault(name, "")
                by_path[name] += props["AuthorizationType"] + ","
    assert set(by_path["webhooks_api"].strip(",").split(",")) == {"NONE"}
    assert "NONE" not in by_path["payments_api"]


def test_stored_provider_events_feed_payment_events_with_retries_and_an_on_failure_queue(
    dev: Synthesized,
) -> None:
    dev.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": function_ref(dev, "payment_events"),
            "StartingPosition": "TRIM_HORIZON",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "MaximumRetryAttempts": 5,
            "FilterCriteria": {
                "Filters": [
                    {
                        "Pattern": json.dumps(
                            topology.PAYMENT_EVENT_FILTER, separators=(",", ":"), sort_keys=True
                        )
                    }
                ]
            },
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )
    mappings = [m["Properties"] for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()]
    collector = [m for m in mappings if m["FunctionName"] == function_ref(dev, "payment_collector")]
    assert [m["Topics"] for m in collector] == [[topology.TOPIC_BILLING]]


def test_the_payments_run_is_scheduled_twice_a_day(dev: Synthesized) -> None:
    [schedule] = [
        r["Properties"]
        for r in dev.of_type("AWS::Scheduler::Schedule").values()
        if r["Properties"]["Name"] == "meterplex-dev-payments-twice-daily"
    ]
    assert schedule["ScheduleExpression"] == "cron(30 0,12 * * ? *)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [function_ids(dev)["payments_scheduler"], "Arn"]}


def test_only_the_functions_calling_the_provider_read_the_stripe_secret(dev: Synthesized) -> None:
    secret = _stripe_secret_id(dev)
    for fn in topology.FUNCTIONS:
        statements = json.dumps(role_statements(dev, function_ids(dev)[fn.name]))
        reads = "secretsmanager:GetSecretValue" in statements and secret in statements
        assert reads == fn.reads_stripe_secret, fn.name
        if fn.reads_stripe_secret:
            assert _variables(dev, fn.name)["MP_STRIPE_SECRET_ARN"] == {"Ref": secret}
            assert _variables(dev, fn.name)["MP_PAYMENT_PROVIDER"] == "fake"  # dev default
    assert {f.name for f in topology.FUNCTIONS if f.reads_stripe_secret} == {
        "payments_api",
        "webhooks_api",
        "payment_collector",
        "payments_scheduler",
    }


def test_prod_collects_with_stripe_and_refuses_the_fake(
    prod_provisioned: Synthesized, tmp_path: Path
) -> None:
    for name in ("webhooks_api", "payment_collector"):
        assert _variables(prod_provisioned, name)["MP_PAYMENT_PROVIDER"] == "stripe"
    with pytest.raises(ValueError, match="paymentProvider"):
        synthesize(tmp_path, stage="prod", paymentProvider="fake")


@pytest.mark.parametrize(
    ("metric", "service"),
    [
        ("PaymentEventsDeadLettered", "meterplex-payment_events"),
        ("PaymentWebhooksRejected", "meterplex-webhooks_api"),
    ],
)
def test_payments_alarms(dev: Synthesized, metric: str, service: str) -> None:
    dev.monitoring.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": metric,
            "Namespace": "Meterplex",
            "Dimensions": [{"Name": "service", "Value": service}],
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": Match.any_value(),
        },
    )
