"""Reconciliation in the synthesized stack (ADR 0095): the daily schedule targets the reconciler,
which alone may Scan (the usage table only); the API may invoke the reconciler and nothing else;
an alarm fires when a run reports issues it could not resolve."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from infra import topology
from meterplex.platform import env
from tests.infra.conftest import Synthesized
from tests.infra.test_service_stack import function_ids, role_statements


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_the_daily_schedule_targets_the_reconciler(dev: Synthesized) -> None:
    (schedule,) = [s for s in topology.SCHEDULES if s.function == "reconciler"]
    (props,) = [
        r["Properties"]
        for r in dev.of_type("AWS::Scheduler::Schedule").values()
        if r["Properties"]["Name"] == f"meterplex-dev-{schedule.name}"
    ]
    assert props["ScheduleExpression"] == "cron(30 1 * * ? *)" == schedule.expression
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [function_ids(dev)["reconciler"], "Arn"]}
    assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 3


def test_only_the_reconciler_scans_and_only_the_usage_table(dev: Synthesized) -> None:
    ids = function_ids(dev)
    for name, logical_id in ids.items():
        scans = [s for s in role_statements(dev, logical_id) if "dynamodb:Scan" in _actions(s)]
        if name != "reconciler":
            assert not scans, name
            continue
        (scan,) = scans
        assert _actions(scan) == ["dynamodb:Scan"]
        assert json.dumps(scan["Resource"]).startswith('{"Fn::GetAtt": ["TablesUsage')


def test_the_api_invokes_the_reconciler_by_name_and_nothing_else(dev: Synthesized) -> None:
    ids = function_ids(dev)
    api = dev.resources[ids["reconciliation_api"]]["Properties"]
    variables = api["Environment"]["Variables"]
    assert variables[env.RECONCILER_FUNCTION] == {"Ref": ids["reconciler"]}
    (invoke,) = [
        s for s in role_statements(dev, ids["reconciliation_api"]) if "lambda:InvokeFunction" in _actions(s)
    ]
    assert invoke["Resource"] == {"Fn::GetAtt": [ids["reconciler"], "Arn"]}


def test_reconciliation_issues_raise_an_alarm(dev: Synthesized) -> None:
    metric = {
        "MetricName": "ReconciliationIssues",
        "Namespace": "Meterplex",
        "Dimensions": [{"Name": "service", "Value": "meterplex-reconciler"}],
    }
    dev.monitoring.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": Match.any_value(),
            "Metrics": Match.array_with(
                [
                    Match.object_like(
                        {
                            "MetricStat": Match.object_like(
                                {"Metric": Match.object_like(metric), "Stat": "Maximum"}
                            )
                        }
                    )
                ]
            ),
        },
    )
