"""The admin half of issue 13 in the CDK app (ADR 0090–0092): the audit trail's indexes, the
dead-letter intake on every on-failure queue, the retry's invoke grants, the dead-letter alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import topology
from meterplex.platform.kafka import READER_GROUP
from tests.infra.conftest import Synthesized
from tests.infra.test_service_stack import actions_of, function_ids, role_statements

CONSUMERS = sorted(
    {t.function for t in topology.STREAM_TRIGGERS} | {t.function for t in topology.KAFKA_TRIGGERS}
)


def _environment(synth: Synthesized, name: str) -> dict[str, Any]:
    return synth.resources[function_ids(synth)[name]]["Properties"]["Environment"]["Variables"]


def test_core_table_has_the_audit_and_overview_indexes(dev: Synthesized) -> None:
    core = next(
        t
        for t in dev.of_type("AWS::DynamoDB::Table").values()
        if len(t["Properties"].get("GlobalSecondaryIndexes", [])) >= 4
    )
    names = {i["IndexName"]: i for i in core["Properties"]["GlobalSecondaryIndexes"]}
    assert set(names) == {"gsi1", "gsi2", "gsi3", "gsi4"}
    for name, index in names.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [f"{name}pk", f"{name}sk"]
        assert index["Projection"]["ProjectionType"] == "ALL"


def test_every_on_failure_queue_feeds_the_dead_letter_intake(dev: Synthesized) -> None:
    intake = function_ids(dev)["dead_letter_intake"]
    queues = set(dev.of_type("AWS::SQS::Queue"))
    sqs_mappings = [
        m["Properties"]
        for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
        if "EventSourceArn" in m["Properties"]
        and "Fn::GetAtt" in m["Properties"]["EventSourceArn"]
        and m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] in queues
    ]
    fed = {m["EventSourceArn"]["Fn::GetAtt"][0] for m in sqs_mappings if m["FunctionName"] == {"Ref": intake}}
    pipeline_queues = {q for q in queues if "Dlq" in q and "Pipeline" in q}
    assert pipeline_queues and pipeline_queues <= fed
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in sqs_mappings)


def test_the_queues_feeding_the_intake_hide_a_message_longer_than_the_intake_may_run(
    dev: Synthesized,
) -> None:
    # Lambda refuses an SQS mapping whose queue's visibility timeout is below the function's timeout
    intake = function_ids(dev)["dead_letter_intake"]
    timeout = dev.resources[intake]["Properties"]["Timeout"]
    queues = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in dev.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": intake}
    }
    assert queues
    for queue in queues:
        assert dev.resources[queue]["Properties"]["VisibilityTimeout"] >= 6 * timeout, queue


def test_the_intake_reads_every_triggering_stream_and_names_the_consumers(dev: Synthesized) -> None:
    statements = role_statements(dev, function_ids(dev)["dead_letter_intake"])
    stream_reads = [s for s in statements if "dynamodb:GetShardIterator" in s["Action"]]
    tables = {t.table for t in topology.STREAM_TRIGGERS}
    assert json.dumps(stream_reads).count("StreamArn") == len(tables)  # each triggering stream, by ARN
    assert "MP_DEAD_LETTER_TARGETS" in _environment(dev, "dead_letter_intake")


@pytest.mark.parametrize("stage", ["dev", "prod_provisioned"])
def test_the_intake_reads_every_consumed_topic_by_offset_from_the_vpc_without_a_group(
    stage: str, request: pytest.FixtureRequest
) -> None:
    # ADR 0094: a Kafka failure record through SQS names only offsets; the intake re-reads them
    synth: Synthesized = request.getfixturevalue(stage)
    intake = function_ids(synth)["dead_letter_intake"]
    statements = role_statements(synth, intake)
    reads = [s for s in statements if "kafka-cluster:ReadData" in s["Action"]]
    assert len(reads) == 1 and sorted(reads[0]["Action"]) == [
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:ReadData",
    ]
    resources = json.dumps(reads[0]["Resource"])
    for topic in {t.topic for t in topology.KAFKA_TRIGGERS}:
        assert f"/{topic}" in resources, topic
    actions = actions_of(statements)
    assert "kafka-cluster:Connect" in actions
    assert not actions & {"kafka-cluster:AlterGroup", "kafka-cluster:WriteData"}  # joins no group
    (describe,) = [s for s in statements if s["Action"] == "kafka-cluster:DescribeGroup"]
    assert f"/{READER_GROUP}" in json.dumps(describe["Resource"])  # its reader's group name only
    # AND it runs beside the cluster, with IAM auth, and still reaches DynamoDB Streams (no NAT)
    props = synth.resources[intake]["Properties"]
    assert "VpcConfig" in props
    variables = props["Environment"]["Variables"]
    assert variables["MP_KAFKA_AUTH"] == "iam" and "MP_KAFKA_BOOTSTRAP" in variables
    endpoints = json.dumps(synth.of_type("AWS::EC2::VPCEndpoint"))
    assert "dynamodb-streams" in endpoints


def test_admin_api_may_invoke_exactly_the_consumers_for_retries(dev: Synthesized) -> None:
    ids = function_ids(dev)
    statements = role_statements(dev, ids["admin_api"])
    invokes = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    resources = json.dumps([s["Resource"] for s in invokes])
    for consumer in CONSUMERS:
        assert ids[consumer] in resources, consumer
    assert ids["billing_api"] not in resources  # no function that consumes nothing
    assert "MP_DEAD_LETTER_TARGETS" in _environment(dev, "admin_api")


def test_a_dead_lettered_record_raises_an_alarm(dev: Synthesized) -> None:
    alarmed = set()
    for alarm in dev.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metric = props.get("MetricName") or props.get("Metrics", [{}])[0].get("MetricStat", {}).get(
            "Metric", {}
        ).get("MetricName")
        if metric == "DeadLetters":
            dims = props.get("Dimensions") or props["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
            alarmed |= {d["Value"].removeprefix("meterplex-") for d in dims if d["Name"] == "service"}
            assert props["Threshold"] == 1 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert {*CONSUMERS, "dead_letter_intake"} <= alarmed
