"""dead_letter_intake: an on-failure queue message holds only where the failed stream batch was;
the intake re-reads the records by sequence number (moto's stream) into the store (ADR 0091)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

from infra.local.aws import REGION
from meterplex.platform import topics
from meterplex.platform.audit import SYSTEM, event
from meterplex.platform.dead_letters import dead_letter_id, get_dead_letter
from meterplex.platform.outbox import outbox_item
from tests.support.api_client import runner
from tests.support.log_lines import captured_log_lines


def test_exhausted_stream_retries_are_re_read_by_sequence_number_and_kept_whole(moto_endpoint: str) -> None:
    # GIVEN two outbox items in the core table's stream (a batch the relay failed on past its retries)
    table = os.environ["MP_CORE_TABLE"]
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    written = []
    for n in range(2):
        audit = event(
            "tenant.updated",
            actor=SYSTEM,
            tenant_id=tenant,
            resource="tenant",
            resource_id=tenant,
            after={"n": n},
        )
        outbox_item(audit, topics.DOMAIN).save()
        written.append(audit.id)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=moto_endpoint)
    arn = boto3.client("dynamodb", region_name=REGION, endpoint_url=moto_endpoint).describe_table(
        TableName=table
    )["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    ours = []
    while iterator and len(ours) < 2:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        ours += [r for r in page["Records"] if any(i in json.dumps(r, default=str) for i in written)]
        iterator = page.get("NextShardIterator") if page["Records"] else None
    first, last = (r["dynamodb"]["SequenceNumber"] for r in (ours[0], ours[-1]))
    # WHEN the mapping's on-failure record (AWS's shape: metadata only) reaches the intake
    failure = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:outbox_relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": first,
            "endSequenceNumber": last,
            "batchSize": 2,
            "streamArn": arn,
        },
    }
    sqs_event = {
        "Records": [{"messageId": str(uuid.uuid4()), "body": json.dumps(failure), "eventSource": "aws:sqs"}]
    }
    with captured_log_lines() as lines:
        assert runner().invoke("dead_letter_intake", sqs_event) == {"batchItemFailures": []}
    # THEN its line is logged under the failure's correlation id: the failed invocation's request id
    [line] = [line for line in lines() if line["message"] == "exhausted retries dead-lettered"]
    assert line.get("correlation_id") == failure["requestContext"]["requestId"]
    # AND each record is a dead letter of the relay, the stream record itself (what a retry re-delivers)
    for raw in ours:
        letter = get_dead_letter(
            dead_letter_id("outbox_relay", f"{table}@{raw['dynamodb']['SequenceNumber']}")
        )
        assert letter is not None
        record = json.loads(letter.record or "{}")
        assert (
            record["eventSourceARN"] == arn and record["dynamodb"]["NewImage"] == raw["dynamodb"]["NewImage"]
        )
        assert (letter.kind, letter.tenantId, letter.status) == ("stream", tenant, "OPEN")
        assert "RetryAttemptsExhausted" in letter.reason


def test_a_message_that_is_no_failure_record_is_reported_back(moto_endpoint: str) -> None:
    sqs_event = {"Records": [{"messageId": "m-1", "body": "{}", "eventSource": "aws:sqs"}]}
    assert runner().invoke("dead_letter_intake", sqs_event) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }


def test_each_message_is_logged_under_the_correlation_id_it_carries(moto_endpoint: str) -> None:
    # GIVEN two on-failure messages in one batch, each with its own x-correlation-id attribute
    def message(correlation_id: str) -> dict[str, Any]:
        failure = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": "arn:aws:lambda:::function:f"},
            "KafkaBatchInfo": {"recordsInfo": {}},
        }
        attribute = {"stringValue": correlation_id, "dataType": "String"}
        return {
            "messageId": str(uuid.uuid4()),
            "body": json.dumps(failure),
            "eventSource": "aws:sqs",
            "messageAttributes": {"x-correlation-id": attribute},
        }

    sqs_event = {"Records": [message("req-a"), message("req-b")]}
    with captured_log_lines() as lines:
        assert runner().invoke("dead_letter_intake", sqs_event) == {"batchItemFailures": []}
    logged = [
        line.get("correlation_id") for line in lines() if line["message"] == "exhausted retries dead-lettered"
    ]
    assert logged == ["req-a", "req-b"]
