"""Alarms, the dashboard and the runbook (ADR 0100), on the session's synthesized stacks: every
alarm links a runbook section that exists, the dashboard has a row per capability, no metric is
dimensioned by anything but the allowed low-cardinality names, and the usage SLO is alarmed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra import topology
from infra.constructs.dashboard import CAPABILITIES
from meterplex.platform import business_metrics
from tests.infra.conftest import Synthesized

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"
LINK = re.compile(r"Runbook: docs/runbook\.md#([a-z0-9-]+)$")
# The capabilities the issue asks a view of (issue 15): each must be a row of the dashboard.
EXPECTED_ROWS = (
    "API",
    "Usage pipeline",
    "Hot path (entitlements)",
    "Billing",
    "Payments",
    "Webhooks",
    "Admin and reconciliation",
)
# Dimension names a metric may carry: Powertools' service, and AWS's per-resource ones. Never a
# tenant, user, plan or any id.
ALLOWED_DIMENSIONS = {"service", "FunctionName", "QueueName", "ApiName"}
SERVICES = {f"meterplex-{f.name}" for f in topology.FUNCTIONS}


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lowercased, punctuation dropped, spaces → '-'."""
    anchors: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            text = re.sub(r"[`*_]", "", match.group(1)).strip().lower()
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return anchors


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return synth.of_type("AWS::CloudWatch::Alarm")


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric an alarm reads: {MetricName, Namespace, Dimensions, Stat}."""
    props = alarm["Properties"]
    if "MetricName" in props:
        stat = props.get("ExtendedStatistic") or props.get("Statistic")
        return [{**{k: props.get(k) for k in ("MetricName", "Namespace", "Dimensions")}, "Stat": stat}]
    return [
        {**q["MetricStat"]["Metric"], "Stat": q["MetricStat"]["Stat"]}
        for q in props["Metrics"]
        if "MetricStat" in q
    ]


def dashboard_body(synth: Synthesized) -> dict[str, Any]:
    """The dashboard's JSON, CloudFormation tokens (function names, queue names) as "TOKEN"."""
    (dashboard,) = synth.monitoring.find_resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, dict):  # Fn::Join ["", [...parts]]
        _, parts = body["Fn::Join"]
        body = "".join(p if isinstance(p, str) else "TOKEN" for p in parts)
    return json.loads(body)


def widget_metrics(widget: dict[str, Any]) -> list[list[Any]]:
    return [m for m in widget.get("properties", {}).get("metrics", []) if isinstance(m, list)]


def dimensions_of(metric: list[Any]) -> dict[str, Any]:
    """A dashboard metric array: [namespace, name, dim, value, dim, value, ..., {options}?]."""
    fields = [f for f in metric if not isinstance(f, dict)]
    pairs = fields[2:]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


@pytest.fixture(scope="module")
def anchors() -> set[str]:
    return github_anchors(RUNBOOK.read_text())


def test_github_anchors_follow_githubs_rules() -> None:
    text = "# Runbook: what to do\n## API 5xx rate\n```\n# not a heading\n```\n### Dead-letter queue depth\n"
    assert github_anchors(text) == {"runbook-what-to-do", "api-5xx-rate", "dead-letter-queue-depth"}


@pytest.mark.parametrize("fixture", ["dev", "prod_provisioned"])
def test_every_alarm_links_a_runbook_section_that_exists(
    fixture: str, request: pytest.FixtureRequest, anchors: set[str]
) -> None:
    synth: Synthesized = request.getfixturevalue(fixture)
    found = alarms(synth)
    assert len(found) > 20
    for name, alarm in found.items():
        description = alarm["Properties"].get("AlarmDescription", "")
        link = LINK.search(description)
        assert link, f"{name}: no runbook link in {description!r}"
        assert link.group(1) in anchors, f"{name}: docs/runbook.md has no section #{link.group(1)}"


def test_every_runbook_alarm_section_is_used_by_an_alarm(dev: Synthesized, anchors: set[str]) -> None:
    # the reverse: a section under "Alarms" that no alarm links is stale documentation
    text = RUNBOOK.read_text()
    sections = github_anchors(text[text.index("## Alarms") :]) - {"alarms"}
    linked = {LINK.search(a["Properties"]["AlarmDescription"]).group(1) for a in alarms(dev).values()}  # type: ignore[union-attr]
    assert sections == linked


def test_the_usage_slo_alarm_is_p99_of_ingest_to_counted_above_2000_ms(dev: Synthesized) -> None:
    slo = [
        a
        for a in alarms(dev).values()
        if any(m["MetricName"] == business_metrics.USAGE_INGEST_TO_COUNTED_MS for m in alarm_metrics(a))
    ]
    assert len(slo) == 1
    props = slo[0]["Properties"]
    (metric,) = alarm_metrics(slo[0])
    assert metric["Stat"] == "p99" and metric["Namespace"] == "Meterplex"
    assert metric["Dimensions"] == [{"Name": "service", "Value": "meterplex-usage_aggregator"}]
    assert props["Threshold"] == 2000 and props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["AlarmActions"] and props["AlarmDescription"].endswith("#usage-counting-late")


def test_the_api_alarms_on_a_5xx_rate_not_a_count(dev: Synthesized) -> None:
    (rate,) = [a for a in alarms(dev).values() if "#api-5xx-rate" in a["Properties"]["AlarmDescription"]]
    queries = rate["Properties"]["Metrics"]
    (expression,) = [q["Expression"] for q in queries if "Expression" in q]
    assert "100 * errors / requests" in expression
    assert {m["MetricName"] for m in alarm_metrics(rate)} == {"5XXError", "Count"}
    assert rate["Properties"]["Threshold"] == 1


@pytest.mark.parametrize(
    ("metric", "anchor"),
    [
        ("IteratorAge", "stream-iterator-age"),
        ("OffsetLag", "kafka-consumer-lag"),
        ("ApproximateNumberOfMessagesVisible", "dead-letter-queue-depth"),
        ("WebhookDeliveriesExhausted", "webhook-deliveries-exhausted"),
        ("ReconciliationIssues", "reconciliation-issues"),
        ("DeadLetters", "dead-letters"),
    ],
)
def test_each_slo_signal_is_alarmed_with_its_runbook(dev: Synthesized, metric: str, anchor: str) -> None:
    matching = [a for a in alarms(dev).values() if any(m["MetricName"] == metric for m in alarm_metrics(a))]
    assert matching, metric
    assert all(a["Properties"]["AlarmDescription"].endswith(f"#{anchor}") for a in matching)


@pytest.mark.parametrize("fixture", ["dev", "prod_provisioned"])
def test_no_alarm_metric_is_dimensioned_by_a_tenant_or_user(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(fixture)
    for name, alarm in alarms(synth).items():
        for metric in alarm_metrics(alarm):
            dimensions = metric.get("Dimensions") or []
            assert {d["Name"] for d in dimensions} <= ALLOWED_DIMENSIONS, (name, dimensions)
            for d in dimensions:
                if d["Name"] == "service":
                    assert d["Value"] in SERVICES, (name, d)


def test_the_dashboard_has_a_row_per_capability(dev: Synthesized) -> None:
    widgets = dashboard_body(dev)["widgets"]
    headers = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    titles = [w["properties"].get("title", "") for w in widgets if w["type"] == "metric"]
    for row in EXPECTED_ROWS:
        assert any(h.startswith(f"## {row}\n") for h in headers), f"no header for {row}"
        graphs = [t for t in titles if t.startswith(f"{row}: ")]
        assert graphs, f"no graph for {row}"
    # rows appear in the order above, each header before its graphs
    order = [
        next(i for i, w in enumerate(widgets) if w["type"] == "text" and row in w["properties"]["markdown"])
        for row in EXPECTED_ROWS
    ]
    assert order == sorted(order)


def test_the_dashboard_graphs_every_contract_metric_with_the_service_dimension_only(dev: Synthesized) -> None:
    graphed: dict[str, set[str]] = {}
    for widget in dashboard_body(dev)["widgets"]:
        for metric in widget_metrics(widget):
            fields = [f for f in metric if not isinstance(f, dict)]
            if fields and fields[0] == "Meterplex":
                dimensions = dimensions_of(metric)
                assert set(dimensions) == {"service"}, metric
                assert dimensions["service"] in SERVICES, metric
                graphed.setdefault(fields[1], set()).add(dimensions["service"])
    assert set(business_metrics.CONTRACT) <= set(graphed)
    assert graphed[business_metrics.INVOICES_FINALIZED] == {
        "meterplex-billing_api",
        "meterplex-invoice_worker",
    }


def test_no_dashboard_metric_is_dimensioned_by_a_tenant_or_user(dev: Synthesized) -> None:
    for widget in dashboard_body(dev)["widgets"]:
        for metric in widget_metrics(widget):
            fields = [f for f in metric if not isinstance(f, dict)]
            if fields and fields[0] == "...":  # CDK never abbreviates; guard the parser's assumption
                pytest.fail(f"abbreviated metric {metric}")
            if len(fields) >= 2:
                assert set(dimensions_of(metric)) <= ALLOWED_DIMENSIONS, metric


def test_every_function_has_a_capability_row() -> None:
    rows = [f for c in CAPABILITIES for f in c.functions]
    assert sorted(rows) == sorted(f.name for f in topology.FUNCTIONS)  # each exactly once


def test_the_dashboard_and_alarms_stay_in_the_monitoring_stack(dev: Synthesized) -> None:
    dev.monitoring.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    nested = dev.monitoring.to_json()["Resources"]
    assert len(nested) < 500  # CloudFormation's limit per stack
    assert not dev.template.find_resources("AWS::CloudWatch::Alarm")  # none left in the parent
