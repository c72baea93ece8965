"""The local MSK event source mapping against Tansu: MSK events, commits, redelivery, DLQ."""

from __future__ import annotations

import base64
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from infra.local.dead_letters import DeadLetters
from infra.local.functions import FunctionRunner
from infra.local.kafka_broker import create_topics
from infra.local.kafka_poller import CLUSTER_ARN, KafkaPoller
from infra.topology import KafkaTrigger, Topic
from tests.support.waiting import flat, wait_for

FIXTURE_FUNCTIONS = Path(__file__).parent / "fixtures_functions"


@pytest.fixture
def trigger(kafka_bootstrap: str) -> KafkaTrigger:
    """A fresh single-partition topic and group (so offsets are predictable)."""
    topic = f"test.{uuid.uuid4().hex[:8]}"
    create_topics(kafka_bootstrap, [Topic(topic, partitions=1)])
    return KafkaTrigger(topic=topic, function="recorder", batch_size=10, consumer_group=f"g-{topic}")


def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0})
    for value in values:
        producer.produce(topic, key=b"tenant-1", value=value.encode(), headers=[("type", b"t1")])
    producer.flush(10)


def committed(bootstrap: str, trigger: KafkaTrigger) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": trigger.group_id, "log_level": 0})
    try:
        return int(consumer.committed([TopicPartition(trigger.topic, 0)], timeout=10)[0].offset)
    finally:
        consumer.close()


def values(module: ModuleType) -> list[list[str]]:
    return [
        [base64.b64decode(r["value"]).decode() for records in e["records"].values() for r in records]
        for e in module.EVENTS
    ]


def start(trigger: KafkaTrigger, bootstrap: str, runner: FunctionRunner, tmp_path: Path) -> KafkaPoller:
    poller = KafkaPoller(trigger, bootstrap, runner.invoke, DeadLetters(tmp_path))
    poller.start()
    return poller


def test_kafka_poller_delivers_msk_events_and_commits(
    kafka_bootstrap: str, trigger: KafkaTrigger, recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    runner, module = recorder
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    try:
        produce(kafka_bootstrap, trigger.topic, ["m0", "m1", "m2"])
        wait_for(lambda: flat(values(module)) == ["m0", "m1", "m2"])
        wait_for(lambda: committed(kafka_bootstrap, trigger) == 3)
    finally:
        poller.stop()
    event = module.EVENTS[0]
    assert event["eventSource"] == "aws:kafka"
    assert event["eventSourceArn"] == CLUSTER_ARN
    assert event["bootstrapServers"] == kafka_bootstrap
    record = event["records"][f"{trigger.topic}-0"][0]
    assert record["topic"] == trigger.topic and record["partition"] == 0 and record["offset"] == 0
    assert base64.b64decode(record["key"]) == b"tenant-1"
    assert record["timestampType"] == "CREATE_TIME" and record["timestamp"] > 0
    assert record["headers"] == [{"type": list(b"t1")}]


def test_kafka_poller_resumes_from_the_committed_offset(
    kafka_bootstrap: str, trigger: KafkaTrigger, recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    runner, module = recorder
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    produce(kafka_bootstrap, trigger.topic, ["m0", "m1"])
    wait_for(lambda: committed(kafka_bootstrap, trigger) == 2)
    poller.stop()
    # WHEN a new poller of the same group starts after more messages arrived
    produce(kafka_bootstrap, trigger.topic, ["m2"])
    module.EVENTS.clear()
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    try:
        wait_for(lambda: bool(module.EVENTS))
        time.sleep(0.2)
    finally:
        poller.stop()
    # THEN it resumes where the group left off
    assert flat(values(module)) == ["m2"]


def test_kafka_poller_redelivers_from_the_reported_failure(
    kafka_bootstrap: str, trigger: KafkaTrigger, recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    runner, module = recorder
    module.FAIL_ONCE.add("m1")
    produce(kafka_bootstrap, trigger.topic, ["m0", "m1", "m2"])
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    try:
        wait_for(lambda: len(module.EVENTS) >= 2)
        wait_for(lambda: committed(kafka_bootstrap, trigger) == 3)
    finally:
        poller.stop()
    assert values(module) == [["m0", "m1", "m2"], ["m1", "m2"]]
    assert DeadLetters(tmp_path).read("recorder") == []


def test_kafka_poller_crash_redelivers_the_whole_batch(
    kafka_bootstrap: str, trigger: KafkaTrigger, recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    runner, module = recorder
    module.CRASH_NEXT = 1
    produce(kafka_bootstrap, trigger.topic, ["m0", "m1"])
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    try:
        wait_for(lambda: len(module.EVENTS) >= 2)
        wait_for(lambda: committed(kafka_bootstrap, trigger) == 2)
    finally:
        poller.stop()
    assert values(module) == [["m0", "m1"], ["m0", "m1"]]


def test_kafka_poller_dead_letters_a_record_that_keeps_failing(
    kafka_bootstrap: str, trigger: KafkaTrigger, recorder: tuple[FunctionRunner, ModuleType], tmp_path: Path
) -> None:
    runner, module = recorder
    module.FAIL_ALWAYS.add("m1")
    produce(kafka_bootstrap, trigger.topic, ["m0", "m1", "m2"])
    poller = start(trigger, kafka_bootstrap, runner, tmp_path)
    try:
        wait_for(lambda: committed(kafka_bootstrap, trigger) == 3)
    finally:
        poller.stop()
    dead = DeadLetters(tmp_path).read("recorder")
    assert [base64.b64decode(d["record"]["value"]).decode() for d in dead] == ["m1"]
    assert dead[0]["source"] == "aws:kafka"
    # m1 was retried (1 + retry attempts deliveries), m2 after it delivered until it went through
    assert flat(values(module)).count("m1") == poller.retry_attempts + 1
    assert values(module)[-1][-1] == "m2"
