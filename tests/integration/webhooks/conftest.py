"""Webhook test fixtures: the topology's SQS queue and KMS key on the session's moto server (as
the local cloud creates them), a real HTTP receiver on localhost, and the queue read back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra import topology
from infra.local.aws import REGION
from infra.local.queues import provision
from infra.local.webhook_receiver import Receiver, running_receiver
from meterplex.platform import env
from meterplex.platform.settings import load
from meterplex.webhooks.models import DeliveryRef


@pytest.fixture(scope="session")
def webhook_aws(moto_endpoint: str) -> Iterator[dict[str, str]]:
    """MP_WEBHOOK_QUEUE_URL and MP_WEBHOOK_KEY set (queue and key created on moto)."""
    variables = provision(topology, "test", moto_endpoint)
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    load.cache_clear()
    yield variables
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    load.cache_clear()


@pytest.fixture
def queue(webhook_aws: dict[str, str]) -> Iterator[QueueReader]:
    reader = QueueReader(webhook_aws[env.WEBHOOK_QUEUE_URL])
    reader.drain()
    yield reader


class QueueReader:
    """What the webhook queue holds: receives (and deletes) every visible message."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = boto3.client("sqs", region_name=REGION)

    def messages(self) -> list[dict[str, Any]]:
        """Every visible message as ReceiveMessage gives it (with its message attributes), deleted."""
        received: list[dict[str, Any]] = []
        while True:
            page = self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
            )
            messages: list[dict[str, Any]] = page.get("Messages") or []
            if not messages:
                return received
            for message in messages:
                received.append(message)
                self.client.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def drain(self) -> list[DeliveryRef]:
        bodies = [json.loads(message["Body"]) for message in self.messages()]
        return [DeliveryRef(b["tenantId"], b["endpointId"], b["deliveryId"]) for b in bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
