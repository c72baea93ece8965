"""Synthesize the service stack once per session (jsii is slow) and share the template.

`placeholderCode` lets the infrastructure be checked before every function's folder exists; where
the folder exists (the normal case) its real code is the asset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, NestedStack, Stack
from aws_cdk.assertions import Template

from infra.app import build
from infra.constructs.runtime import PLACEHOLDER_CONTEXT


@dataclass(frozen=True)
class Synthesized:
    stack: Stack
    template: Template
    outdir: Path

    @cached_property
    def monitoring(self) -> Template:
        """The nested stack of alarms and the dashboard (infra/stacks/service.py)."""
        (nested,) = [
            c
            for c in self.stack.node.find_all()
            if isinstance(c, NestedStack) and c.node.id == "MonitoringStack"
        ]
        return Template.from_stack(nested)

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Every resource of the stack and of its nested stacks (the REST API's, monitoring's), the
        nested ones with their parameters replaced by what the parent passes — as one template.
        Computed once per synthesis (each jsii round trip of a template takes seconds); read it, do
        not change it."""
        resources = dict(self.template.to_json()["Resources"])
        for nested in (c for c in self.stack.node.find_all() if isinstance(c, NestedStack)):
            holder = resources[self.stack.resolve(nested.nested_stack_resource.logical_id)]  # type: ignore[union-attr]
            passed = holder["Properties"].get("Parameters", {})
            resources |= _substituted(Template.from_stack(nested).to_json()["Resources"], passed)
        return resources

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    @property
    def template_file(self) -> Path:
        return self.outdir / f"{self.stack.stack_name}.template.json"

    @property
    def validation_report(self) -> dict[str, Any] | None:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else None


def _substituted(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        return {k: _substituted(v, parameters) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v, parameters) for v in value]
    return value


def synthesize(tmp: Path, **context: Any) -> Synthesized:
    app = App(outdir=str(tmp), context={PLACEHOLDER_CONTEXT: True, **context})
    stack = build(app)
    app.synth()  # runs cdk-nag: an unacknowledged error raises here
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=tmp)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-dev"), stage="dev")


@pytest.fixture(scope="session")
def prod_provisioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(tmp_path_factory.mktemp("cdk-prod"), stage="prod", kafka="provisioned")
