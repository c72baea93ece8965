"""The Meterplex CDK app: one service stack per stage, tagged and checked by cdk-nag.

    npx cdk synth -c stage=dev [-c kafka=provisioned] [-c alarmEmail=ops@example.com]
                  [-c authorizerCacheTtl=30] [-c testClock=false]
                  [-c otlpEndpoint=https://collector.example.com:4318 -c adotLayerArn=arn:aws:lambda:…]

The stack is environment-agnostic (no account/region baked in), so synth needs no credentials;
`cdk deploy` takes them from the caller's AWS profile.
"""

from __future__ import annotations

from aws_cdk import App, Stack, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from infra.constructs.config import AUTHORIZER_CACHE_TTL_DEFAULT_S, StageConfig, Topology
from infra.stacks.service import ServiceStack


def _flag(value: object) -> bool | None:
    """A boolean CDK context value (`-c name=true` arrives as the string "true")."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in {"true", "false"}:
        raise ValueError(f"expected true or false, got {value!r}")
    return text == "true"


def stage_config(app: App) -> StageConfig:
    return StageConfig(
        stage=app.node.try_get_context("stage") or "dev",
        kafka_mode=app.node.try_get_context("kafka") or "serverless",
        alarm_email=app.node.try_get_context("alarmEmail") or None,
        authorizer_cache_ttl_s=int(
            app.node.try_get_context("authorizerCacheTtl") or AUTHORIZER_CACHE_TTL_DEFAULT_S
        ),
        test_clock=_flag(app.node.try_get_context("testClock")),
        payment_provider=app.node.try_get_context("paymentProvider") or None,
        otlp_endpoint=app.node.try_get_context("otlpEndpoint") or None,
        adot_layer_arn=app.node.try_get_context("adotLayerArn") or None,
    )


def build(app: App, topology: Topology | None = None) -> Stack:
    config = stage_config(app)
    stack = ServiceStack(
        app,
        f"Meterplex-{config.stage}",
        config=config,
        topology=topology,
        description=f"Meterplex {config.stage}: usage metering, entitlements and billing",
    )
    Tags.of(app).add("project", "meterplex")
    Tags.of(app).add("stage", config.stage)
    Tags.of(app).add("managed-by", "cdk")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stack


def main() -> None:
    app = App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
