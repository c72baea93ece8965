"""Traces in AWS (ADR 0105, ADR 0107): X-Ray on every function; with `-c otlpEndpoint=… -c
adotLayerArn=…` every function also exports OpenTelemetry spans to the user's collector through the
ADOT layer, and by default nothing of it is there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra import topology
from infra.constructs.config import StageConfig
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.test_service_stack import function_ids

ENDPOINT = "https://otel-collector.example.internal:4318"
ADOT_LAYER = "arn:aws:lambda:us-east-1:901920570463:layer:aws-otel-python-arm64-ver-1-32-0:1"
OTEL_VARIABLES = {"AWS_LAMBDA_EXEC_WRAPPER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}


@pytest.fixture(scope="module")
def with_otlp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(
        tmp_path_factory.mktemp("cdk-otlp"), stage="dev", otlpEndpoint=ENDPOINT, adotLayerArn=ADOT_LAYER
    )


def test_with_an_otlp_endpoint_every_function_exports_to_the_collector(with_otlp: Synthesized) -> None:
    ids = function_ids(with_otlp)
    assert set(ids) == {fn.name for fn in topology.FUNCTIONS}
    for name, logical_id in ids.items():
        props = with_otlp.resources[logical_id]["Properties"]
        variables = props["Environment"]["Variables"]
        assert ADOT_LAYER in props["Layers"], name
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument", name
        assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == ENDPOINT, name
        assert variables["OTEL_SERVICE_NAME"] == f"meterplex-{name}", name
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "true", name  # one tracer, not two
        assert props["TracingConfig"] == {"Mode": "Active"}, name  # Lambda's own X-Ray segment stays


def test_by_default_there_is_no_opentelemetry_layer_or_setting(dev: Synthesized) -> None:
    for name, logical_id in function_ids(dev).items():
        props = dev.resources[logical_id]["Properties"]
        variables = props["Environment"]["Variables"]
        assert not OTEL_VARIABLES & set(variables), name
        assert "POWERTOOLS_TRACE_DISABLED" not in variables, name
        assert len(props["Layers"]) == 2, name


@pytest.mark.parametrize(
    ("endpoint", "layer"),
    [(ENDPOINT, None), (None, ADOT_LAYER), ("collector:4318", ADOT_LAYER)],
    ids=["endpoint-without-layer", "layer-without-endpoint", "not-a-url"],
)
def test_an_incomplete_otlp_configuration_is_refused(endpoint: str | None, layer: str | None) -> None:
    with pytest.raises(ValueError, match="otlpEndpoint"):
        StageConfig(otlp_endpoint=endpoint, adot_layer_arn=layer)
