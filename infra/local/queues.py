"""SQS queues and KMS keys on moto, and the SQS event source mapping, locally (ADR 0080).

* `create_queues` / `create_keys`: the topology's queues (each with its dead-letter queue after
  `max_receive_count` receives, as the CDK declares them) and KMS keys; the environment variables
  that carry their URL / id to the functions.
* `QueuePoller`: receive → the Lambda SQS event (`Records` with `messageId`, `receiptHandle`,
  `body`, `attributes`) → the function; every message not named in `batchItemFailures` is deleted,
  the others become visible again after the visibility timeout (SQS redelivers them; moto moves a
  message received `max_receive_count` times to the dead-letter queue). Message delays
  (`DelaySeconds`) are SQS's own, on real time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3

from infra.local.aws import ACCOUNT_ID, REGION

log = logging.getLogger("localcloud.sqs")

Invoke = Callable[[str, dict[str, Any]], Any]
WAIT_S = 1  # long poll: a message is handed over as soon as it is visible
ERROR_BACKOFF_S = 1.0


def physical_queue_name(stage: str, name: str) -> str:
    return f"meterplex-{stage}-{name}"


def create_queues(queues: Iterable[Any], stage: str, endpoint: str) -> dict[str, str]:
    """Create each queue and its DLQ; {queue name: queue URL}."""
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    urls: dict[str, str] = {}
    for queue in queues:
        name = physical_queue_name(stage, queue.name)
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
        urls[queue.name] = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_s),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
    return urls


def create_keys(keys: Iterable[Any], endpoint: str) -> dict[str, str]:
    """Create each KMS key (symmetric, encrypt/decrypt); {key name: key id}."""
    kms = boto3.client("kms", region_name=REGION, endpoint_url=endpoint)
    return {
        key.name: kms.create_key(Description=key.description, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"][
            "KeyId"
        ]
        for key in keys
    }


def provision(topology: Any, stage: str, endpoint: str) -> dict[str, str]:
    """Queues and keys created; the environment variables that name them (for every function)."""
    variables: dict[str, str] = {}
    urls = create_queues(getattr(topology, "QUEUES", ()), stage, endpoint)
    for queue in getattr(topology, "QUEUES", ()):
        variables[queue.env_var] = urls[queue.name]
    ids = create_keys(getattr(topology, "KEYS", ()), endpoint)
    for key in getattr(topology, "KEYS", ()):
        variables[key.env_var] = ids[key.name]
    return variables


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers for `messages` (ReceiveMessage's)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m.get("Body", ""),
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: _lambda_attribute(value)
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's attribute shape → the one Lambda's SQS event has (camelCase keys)."""
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }


def failed_ids(result: Any) -> set[str]:
    """The message ids a partial batch response names as failed."""
    if not isinstance(result, dict):
        return set()
    return {
        str(f.get("itemIdentifier"))
        for f in result.get("batchItemFailures") or []
        if isinstance(f, dict) and f.get("itemIdentifier")
    }


class QueuePoller:
    """One SQS event source mapping: `poll_once` is the behaviour, `start` runs it in a thread."""

    def __init__(self, trigger: Any, queue_url: str, invoke: Invoke, *, endpoint: str) -> None:
        self.trigger = trigger
        self.queue_url = queue_url
        self.invoke = invoke
        self.client = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        self.queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_url.rsplit('/', 1)[-1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-{trigger.queue}", daemon=True)

    def poll_once(self, wait_s: int = WAIT_S) -> int:
        """Receive one batch, invoke the function, delete what it handled; messages received."""
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.trigger.batch_size, 10),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages") or []
        if not messages:
            return 0
        try:
            result = self.invoke(self.trigger.function, sqs_event(messages, self.queue_arn))
        except Exception:
            log.exception(
                "%s failed on a batch of %d; SQS redelivers it", self.trigger.function, len(messages)
            )
            return len(messages)
        failed = failed_ids(result)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(messages)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=WAIT_S + 10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("polling %s failed", self.trigger.queue)
                self._stop.wait(ERROR_BACKOFF_S)
