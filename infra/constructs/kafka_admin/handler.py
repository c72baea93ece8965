"""Custom resources for Kafka on MSK: look up the IAM bootstrap brokers, create topics.

CloudFormation sends Create/Update/Delete; the answer goes back to the pre-signed `ResponseURL`.
Deleting a topics resource keeps the topics (their data outlives a stack update); deleting the
cluster removes them.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import boto3

from meterplex.platform.kafka import client_config
from meterplex.platform.settings import KafkaSettings


def _bootstrap(properties: dict[str, Any]) -> dict[str, str]:
    brokers = boto3.client("kafka").get_bootstrap_brokers(ClusterArn=properties["ClusterArn"])
    return {"BootstrapBrokers": brokers["BootstrapBrokerStringSaslIam"]}


def _topics(properties: dict[str, Any]) -> dict[str, str]:
    from confluent_kafka.admin import AdminClient, NewTopic

    settings = KafkaSettings(kafka_bootstrap=os.environ["MP_KAFKA_BOOTSTRAP"], kafka_auth="iam")
    admin = AdminClient(client_config(settings))
    admin.poll(1)  # serves the OAUTHBEARER token callback before the first request
    existing = set(admin.list_topics(timeout=30).topics)
    wanted = [
        NewTopic(t["Name"], num_partitions=int(t["Partitions"]), replication_factor=-1)
        for t in properties.get("Topics", [])
        if t["Name"] not in existing
    ]
    for topic, future in admin.create_topics(wanted, request_timeout=30).items() if wanted else []:
        future.result()
        print(json.dumps({"message": "topic created", "topic": topic}))
    return {"Topics": ",".join(t["Name"] for t in properties.get("Topics", []))}


_HANDLERS = {"Custom::KafkaBootstrap": _bootstrap, "Custom::KafkaTopics": _topics}


def _respond(event: dict[str, Any], status: str, data: dict[str, str], reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000] or "see the function's log",
            "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310
        pass


def lambda_handler(event: dict[str, Any], context: object) -> None:
    try:
        data: dict[str, str] = {}
        if event["RequestType"] in ("Create", "Update"):
            data = _HANDLERS[event["ResourceType"]](event["ResourceProperties"])
        _respond(event, "SUCCESS", data)
    except Exception as error:  # every failure must reach CloudFormation, or the stack hangs
        print(json.dumps({"message": "custom resource failed", "error": repr(error)}))
        _respond(event, "FAILED", {}, reason=repr(error))
