"""The test clock in the CDK (ADR 0050): admin_api and its routes behind the authorizer, the clock
switched on in every stage but prod, invoke rights for exactly the scheduled functions, and a
synth-time refusal of a prod stage with the clock on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra import topology
from infra.constructs.config import StageConfig, Topology
from infra.constructs.functions import Functions, JwtSecret
from infra.constructs.runtime import PLACEHOLDER_CONTEXT, Runtime
from infra.constructs.tables import Tables
from meterplex.testclock.targets import load_targets
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.test_service_stack import api_methods, function_ids, role_statements

CLOCK_ROUTES = [r for r in topology.ROUTES if r.path.startswith("/api/v1/admin/clock")]


def variables(synth: Synthesized, name: str) -> dict[str, Any]:
    props = synth.resources[function_ids(synth)[name]]["Properties"]
    return dict(props["Environment"]["Variables"])


def test_admin_api_serves_the_three_clock_routes_behind_the_authorizer(dev: Synthesized) -> None:
    assert {(r.method, r.path) for r in CLOCK_ROUTES} == {
        ("GET", "/api/v1/admin/clock"),
        ("POST", "/api/v1/admin/clock/advance"),
        ("POST", "/api/v1/admin/clock/reset"),
    }
    admin_id = function_ids(dev)["admin_api"]
    for route in CLOCK_ROUTES:
        method = api_methods(dev)[(route.method, route.path)]
        assert method["AuthorizationType"] == "CUSTOM" and method["AuthorizerId"]
        assert admin_id in json.dumps(method["Integration"]["Uri"])


def test_dev_turns_the_test_clock_on_for_every_function(dev: Synthesized) -> None:
    for fn in topology.FUNCTIONS:
        assert variables(dev, fn.name).get("MP_TEST_CLOCK") == "true", fn.name
    assert "MP_SCHEDULES" in variables(dev, "admin_api")
    assert all(
        "MP_SCHEDULES" not in variables(dev, fn.name) for fn in topology.FUNCTIONS if not fn.runs_schedules
    )


def test_prod_has_no_test_clock_and_admin_api_may_invoke_nothing(prod_provisioned: Synthesized) -> None:
    for fn in topology.FUNCTIONS:
        assert "MP_TEST_CLOCK" not in variables(prod_provisioned, fn.name), fn.name
        assert "MP_SCHEDULES" not in variables(prod_provisioned, fn.name), fn.name
    # admin_api still invokes the consumers (dead-letter retries, ADR 0091), never a scheduled one
    ids = function_ids(prod_provisioned)
    statements = role_statements(prod_provisioned, ids["admin_api"])
    invokes = [s for s in statements if any(str(a).startswith("lambda:") for a in _actions(s))]
    assert all(_actions(s) == ["lambda:InvokeFunction"] for s in invokes)
    invoked = json.dumps([s["Resource"] for s in invokes])
    consumers = {t.function for t in topology.STREAM_TRIGGERS} | {t.function for t in topology.KAFKA_TRIGGERS}
    for schedule in topology.SCHEDULES:
        if schedule.function not in consumers:
            assert ids[schedule.function] not in invoked, schedule.function


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_a_prod_stage_with_the_test_clock_on_does_not_synthesize(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="testClock"):
        synthesize(tmp_path, stage="prod", testClock="true")
    with pytest.raises(ValueError, match="testClock"):
        StageConfig(stage="prod", test_clock=True)


def test_a_dev_stage_may_turn_the_test_clock_off() -> None:
    assert StageConfig(stage="dev", test_clock=False).test_clock_enabled is False
    assert StageConfig(stage="dev").test_clock_enabled is True
    assert StageConfig(stage="prod").test_clock_enabled is False


# -- with schedules: the functions construct alone, from a topology that declares two ---------------
def scheduled_topology() -> Topology:
    real = Topology.from_module()
    schedules = (
        topology.Schedule(
            "billing-run", "usage_aggregator", "cron(0 1 * * ? *)", 60, completion="pkg.mod:done"
        ),
        topology.Schedule("hourly", "usage_aggregator", "rate(1 hour)", 60),
        topology.Schedule("audit-sweep", "audit_writer", "rate(1 day)", 60),
    )
    return Topology(**{**real.__dict__, "schedules": schedules})


@pytest.fixture(scope="module")
def scheduled() -> dict[str, Any]:
    app = App(context={PLACEHOLDER_CONTEXT: True})
    stack = Stack(app, "TestClockFunctions")
    config, fake = StageConfig(stage="dev"), scheduled_topology()
    Functions(
        stack,
        "Functions",
        config=config,
        topology=fake,
        runtime=Runtime(stack, "Runtime", config=config),
        tables=Tables(stack, "Tables", config=config, topology=fake),
        jwt_secret=JwtSecret(stack, "JwtSecret", config=config).secret,
        kafka=None,
        network=None,
    )
    return Template.from_stack(stack).to_json()


def _function_logical_id(template: dict[str, Any], name: str) -> str:
    description = topology.function(name).description
    (found,) = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Description") == description
    ]
    return found


def test_admin_api_may_invoke_exactly_the_scheduled_functions(scheduled: dict[str, Any]) -> None:
    template = scheduled
    admin = template["Resources"][_function_logical_id(template, "admin_api")]
    role = admin["Properties"]["Role"]["Fn::GetAtt"][0]
    invoke = [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "lambda:InvokeFunction" in json.dumps(statement["Action"])
    ]
    # one statement for the schedules; the other is the dead-letter retries' (every consumer)
    assert all(statement["Action"] == "lambda:InvokeFunction" for statement in invoke)
    scheduled_targets = {
        _function_logical_id(template, "usage_aggregator"),
        _function_logical_id(template, "audit_writer"),
    }
    target_sets = [{resource["Fn::GetAtt"][0] for resource in statement["Resource"]} for statement in invoke]
    assert scheduled_targets in target_sets and len(invoke) == 2
    # nobody else may invoke functions, but those that declare whom they invoke (`invokes`: their
    # grant is checked with them, e.g. tests/infra/test_reconciliation_stack.py)
    declared = {
        template["Resources"][_function_logical_id(template, f.name)]["Properties"]["Role"]["Fn::GetAtt"][0]
        for f in topology.FUNCTIONS
        if f.invokes
    }
    for logical_id, resource in template["Resources"].items():
        roles = resource["Properties"].get("Roles", []) if resource["Type"] == "AWS::IAM::Policy" else []
        if any(r.get("Ref") in declared for r in roles):
            continue
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} not in resource["Properties"]["Roles"]:
            assert "lambda:InvokeFunction" not in json.dumps(resource["Properties"]["PolicyDocument"]), (
                logical_id
            )


def test_admin_api_gets_the_schedules_with_their_target_arns(scheduled: dict[str, Any]) -> None:
    template = scheduled
    admin = template["Resources"][_function_logical_id(template, "admin_api")]
    encoded = admin["Properties"]["Environment"]["Variables"]["MP_SCHEDULES"]
    parts = encoded["Fn::Join"][
        1
    ]  # the JSON with the function ARNs (GetAtt) and the schedule ARNs spliced in
    text = "".join(
        part if isinstance(part, str) else f"<{part.get('Fn::GetAtt', [part.get('Ref')])[0]}>"
        for part in parts
    )
    targets = {t.name: t for t in load_targets(text)}
    assert set(targets) == {"billing-run", "hourly", "audit-sweep"}
    aggregator = _function_logical_id(template, "usage_aggregator")
    assert targets["billing-run"].function == f"<{aggregator}>"
    assert targets["billing-run"].completion == "pkg.mod:done"
    assert targets["billing-run"].expression == "cron(0 1 * * ? *)"
    assert targets["billing-run"].arn.endswith(":schedule/default/meterplex-dev-billing-run")
