"""The dead-letter store and its admin routes (issue 13, ADR 0091), in-process over moto server:
a poison Kafka record, a Kafka record whose retries ran out on the local poller, and a poison stream
record each land in the store with the record itself, are listed, retried after the cause is fixed
(counted exactly once), and discarded."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.dead_letters import DeadLetters
from meterplex.platform import topics
from meterplex.platform.dead_letters import dead_letter_id
from tests.integration.admin.support import keyed_batch, produce_to
from tests.integration.identity.conftest import PASSWORD, Account, unique
from tests.integration.usage.helpers import (
    World,
    check_used,
    envelopes,
    event,
    send,
    stored_item,
    subscribed,
)
from tests.support.api_client import ApiClient, runner

DEAD_LETTERS = "/api/v1/admin/dead-letter"


@pytest.fixture(scope="module")
def admin(moto_endpoint: str, lambda_api: str) -> Account:
    from meterplex.identity.bootstrap import ensure_platform_admin

    email = f"{unique('dladmin')}@example.com"
    ensure_platform_admin(email, PASSWORD)
    client = ApiClient()
    login = client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}).body
    return Account(client, email, login["user"]["id"], "", login["accessToken"], login["refreshToken"])


def accepted_envelopes(world: World, n: int) -> list[bytes]:
    reply = send(world.tenant, [event(f"e-{uuid.uuid4().hex}", world.key("calls")) for _ in range(n)])
    assert reply.status == 202, reply.body
    return envelopes(world.tenant, [e["eventId"] for e in reply.body["events"] if e["status"] == "accepted"])


def as_version_2(value: bytes) -> bytes:
    """The same event from a producer that already speaks envelope version 2."""
    envelope = json.loads(value)
    return json.dumps(envelope | {"version": 2}).encode()


def listed(admin: Account, **query: str) -> list[str]:
    reply = admin.get(DEAD_LETTERS, query=query)
    assert reply.status == 200, reply.body
    return [d["id"] for d in reply.body["data"]]


@pytest.fixture
def newer_envelopes_accepted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The fix: a usage aggregator that reads envelope version 2 (returned: switch it on)."""
    import meterplex.usage.models as models

    def deploy() -> None:
        monkeypatch.setattr(models, "ENVELOPE_VERSION", 2)

    yield deploy


def test_a_poison_kafka_record_is_kept_listed_retried_once_fixed_and_counted_once(
    admin: Account, newer_envelopes_accepted: Any
) -> None:
    # GIVEN a batch of 3 usage events, one of them in an envelope version the consumer cannot read
    world = subscribed()
    values = accepted_envelopes(world, 3)
    values[1] = as_version_2(values[1])
    offset = uuid.uuid4().int % 1_000_000_000
    delivery = keyed_batch(topics.USAGE, values, world.tenant, partition=1, first_offset=offset)
    # WHEN the aggregator consumes it
    assert runner().invoke("usage_aggregator", delivery) == {"batchItemFailures": []}
    # THEN the two good events are counted, and the poison record is in the store, whole
    assert check_used(world, "calls") == 2
    id_ = dead_letter_id("usage_aggregator", f"{topics.USAGE}-1@{offset + 1}")
    letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
    assert (letter["status"], letter["consumer"], letter["kind"], letter["tenantId"]) == (
        "OPEN",
        "usage_aggregator",
        "kafka",
        world.tenant,
    )
    assert "unsupported envelope version 2" in letter["reason"]
    assert letter["record"]["offset"] == offset + 1 and json.loads(letter["payload"])["version"] == 2
    # AND it is listed: by default (OPEN), by consumer and by tenant
    assert id_ in listed(admin)
    assert id_ in listed(admin, consumer="usage_aggregator")
    assert listed(admin, tenantId=world.tenant) == [id_]

    # WHEN it is retried before the fix: it fails again, stays OPEN, nothing is counted
    again = admin.post(f"{DEAD_LETTERS}/{id_}/retry").body
    assert (again["status"], again["retries"], again["failures"]) == ("OPEN", 1, 2), again["reason"]
    assert check_used(world, "calls") == 2

    # WHEN the consumer that reads version 2 is deployed and the dead letter is retried
    newer_envelopes_accepted()
    retried = admin.post(f"{DEAD_LETTERS}/{id_}/retry")
    # THEN it is RETRIED and the event is counted exactly once
    assert retried.status == 200 and retried.body["status"] == "RETRIED", retried.body
    assert check_used(world, "calls") == 3
    # AND retrying again, or Kafka re-delivering the whole batch, changes nothing
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert runner().invoke("usage_aggregator", delivery) == {"batchItemFailures": []}
    assert check_used(world, "calls") == 3
    assert id_ in listed(admin, status="RETRIED") and id_ not in listed(admin)


def test_exhausted_kafka_retries_on_the_local_poller_are_kept_whole_and_replayed_once(
    admin: Account, tmp_path: Path
) -> None:
    # GIVEN an accepted usage event whose Kafka record the aggregator kept failing on (the broker,
    # a bug…) until the local poller ran out of retries and sent it to the on-failure destination
    world = subscribed()
    (value,) = accepted_envelopes(world, 1)
    offset = uuid.uuid4().int % 1_000_000_000
    (record,) = next(
        iter(keyed_batch(topics.USAGE, [value], world.tenant, first_offset=offset)["records"].values())
    )
    DeadLetters(tmp_path).send(
        "usage_aggregator", [record], source="aws:kafka", reason="RuntimeError: unavailable", attempts=4
    )
    assert check_used(world, "calls") == 0
    # THEN the store holds it OPEN with the Kafka record itself: topic, partition, offset, key, value
    id_ = dead_letter_id("usage_aggregator", f"{topics.USAGE}-0@{offset}")
    letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
    assert (letter["status"], letter["kind"], letter["tenantId"]) == ("OPEN", "kafka", world.tenant)
    assert "retries exhausted (4 attempts)" in letter["reason"]
    assert {k: letter["record"][k] for k in ("topic", "partition", "offset", "value")} == {
        k: record[k] for k in ("topic", "partition", "offset", "value")
    }
    # WHEN an operator retries it (twice) THEN the aggregator counts it, exactly once
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert check_used(world, "calls") == 1


def kafka_failure(function: str, batch_info: dict[str, Any], payload: Any = None) -> dict[str, Any]:
    """An SQS event carrying a Kafka mapping's on-failure record, in AWS's shape (`payload`: what an
    S3 or Kafka destination adds — the MSK event the function was invoked with)."""
    failure: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:us-east-1:000000000000:function:{function}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "KafkaBatchInfo": batch_info,
    }
    if payload is not None:
        failure["payload"] = payload
    return {
        "Records": [{"messageId": str(uuid.uuid4()), "body": json.dumps(failure), "eventSource": "aws:sqs"}]
    }


def test_an_aws_kafka_failure_record_with_its_records_is_kept_whole_and_replayed_once(admin: Account) -> None:
    # GIVEN an accepted event whose Kafka record the aggregator kept raising on, in AWS: the mapping's
    # on-failure record (S3 / Kafka destination) carries the invocation's MSK event
    world = subscribed()
    (value,) = accepted_envelopes(world, 1)
    offset = uuid.uuid4().int % 1_000_000_000
    delivery = keyed_batch(topics.USAGE, [value], world.tenant, partition=2, first_offset=offset)
    info = {"batchSize": 1, "recordInfo": {"offset": str(offset)}}
    # WHEN the intake takes it
    assert runner().invoke("dead_letter_intake", kafka_failure("usage_aggregator", info, delivery)) == {
        "batchItemFailures": []
    }
    # THEN the record itself is a dead letter of the aggregator, and a retry counts it exactly once
    id_ = dead_letter_id("usage_aggregator", f"{topics.USAGE}-2@{offset}")
    letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
    assert (letter["status"], letter["kind"], letter["tenantId"]) == ("OPEN", "kafka", world.tenant), letter
    assert letter["record"]["offset"] == offset and "RetryAttemptsExhausted" in letter["reason"]
    assert check_used(world, "calls") == 0
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert check_used(world, "calls") == 1


@pytest.fixture
def broker(kafka_bootstrap: str) -> str:
    """The Tansu broker, as the intake's Kafka settings name it (they are cached per process)."""
    from meterplex.platform import settings

    settings.load.cache_clear()
    return kafka_bootstrap


def offsets_only(topic: str, partition: int, first: int, last: int) -> dict[str, Any]:
    """A Kafka mapping's on-failure record through an SQS destination: where, not what."""
    return {
        "batchSize": last - first + 1,
        "eventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/meterplex/x",
        "recordsInfo": {
            f"{topic}-{partition}": {"firstRecordOffset": str(first), "lastRecordOffset": str(last)}
        },
    }


def test_an_aws_kafka_failure_of_offsets_only_is_re_read_by_offset_kept_whole_and_replayed_once(
    admin: Account, broker: str
) -> None:
    # GIVEN two accepted usage events on the real broker (keyed by tenant, with a header), which the
    # aggregator kept raising on in AWS: its on-failure record (SQS) names only their offsets
    world = subscribed()
    values = accepted_envelopes(world, 2)
    header = ("x-correlation-id", uuid.uuid4().hex.encode())
    first, last = produce_to(broker, topics.USAGE, 1, values, world.tenant, headers=[header])
    assert last == first + 1
    # WHEN the intake takes it
    failure = kafka_failure("usage_aggregator", offsets_only(topics.USAGE, 1, first, last))
    assert runner().invoke("dead_letter_intake", failure) == {"batchItemFailures": []}
    # THEN each record was read back by offset and is a dead letter of the aggregator, whole
    ids = [dead_letter_id("usage_aggregator", f"{topics.USAGE}-1@{o}") for o in (first, last)]
    for id_, offset, value in zip(ids, (first, last), values, strict=True):
        letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
        assert (letter["status"], letter["kind"], letter["tenantId"]) == ("OPEN", "kafka", world.tenant)
        record = letter["record"]
        assert (record["topic"], record["partition"], record["offset"]) == (topics.USAGE, 1, offset)
        assert base64.b64decode(record["value"]) == value and letter["payload"] == value.decode()
        assert base64.b64decode(record["key"]).decode() == world.tenant
        assert record["headers"] == [{header[0]: list(header[1])}]
        assert "RetryAttemptsExhausted" in letter["reason"]
    assert check_used(world, "calls") == 0
    # WHEN an operator retries each (twice) THEN the aggregator counts them, each exactly once
    for id_ in ids:
        assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
        assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert check_used(world, "calls") == 2
    # AND the same failure record taken again (SQS delivers at least once) counts nothing more
    assert runner().invoke("dead_letter_intake", failure) == {"batchItemFailures": []}
    assert check_used(world, "calls") == 2


@pytest.mark.parametrize("where", ["past the end of the partition", "a topic that is gone"])
def test_an_aws_kafka_failure_of_offsets_no_longer_on_the_broker_is_kept_not_replayable_with_why(
    admin: Account, broker: str, where: str
) -> None:
    # GIVEN a metadata-only on-failure record whose offsets the broker does not hold (retention
    # passed, the topic was deleted)
    offset = 10**12 + uuid.uuid4().int % 1_000_000
    topic = topics.DOMAIN if where.startswith("past") else f"meterplex-gone-{uuid.uuid4().hex[:8]}"
    info = offsets_only(topic, 1, offset, offset + 1)
    # WHEN the intake takes it THEN it is stored (no failure, never a 500), naming where they were
    assert runner().invoke("dead_letter_intake", kafka_failure("audit_writer", info)) == {
        "batchItemFailures": []
    }
    id_ = dead_letter_id("audit_writer", f"{topic}-1@{offset}-{offset + 1}")
    letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
    assert (letter["status"], letter["record"]) == ("OPEN", None), letter
    assert "not replayable" in letter["reason"]
    # AND a retry says it has nothing to re-deliver, and why
    retried = admin.post(f"{DEAD_LETTERS}/{id_}/retry")
    assert retried.status == 409 and retried.code == "DEAD_LETTER_NOT_REPLAYABLE"
    assert "not replayable" in retried.body["message"]


def test_offsets_on_a_broker_that_does_not_answer_are_kafka_unavailable_not_gone() -> None:
    # the intake fails such a message (SQS hands it over again later) instead of storing it half
    from meterplex.platform.kafka import KafkaUnavailable, read_offsets
    from meterplex.platform.settings import KafkaSettings

    nowhere = KafkaSettings.from_env({"MP_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    with pytest.raises(KafkaUnavailable):
        read_offsets(nowhere, topics.USAGE, 0, 0, 0, timeout_s=2)


def test_a_dead_letter_is_discarded_with_its_reason_and_then_never_retried(admin: Account) -> None:
    world = subscribed()
    offset = uuid.uuid4().int % 1_000_000_000
    delivery = keyed_batch(topics.USAGE, [b"{not json"], world.tenant, first_offset=offset)
    assert runner().invoke("usage_aggregator", delivery) == {"batchItemFailures": []}
    id_ = dead_letter_id("usage_aggregator", f"{topics.USAGE}-0@{offset}")
    assert admin.post(f"{DEAD_LETTERS}/{id_}/discard", {}).status == 400  # a reason is required
    discarded = admin.post(f"{DEAD_LETTERS}/{id_}/discard", {"reason": "a test producer's garbage"})
    assert discarded.status == 200, discarded.body
    assert (discarded.body["status"], discarded.body["discardReason"]) == (
        "DISCARDED",
        "a test producer's garbage",
    )
    assert id_ in listed(admin, status="DISCARDED", tenantId=world.tenant)
    refused = admin.post(f"{DEAD_LETTERS}/{id_}/retry")
    assert (refused.status, refused.code) == (409, "DEAD_LETTER_DISCARDED")
    # AND the same poison delivered again stays discarded (not reopened)
    runner().invoke("usage_aggregator", delivery)
    assert admin.get(f"{DEAD_LETTERS}/{id_}").body["status"] == "DISCARDED"


def test_dead_letter_routes_are_for_platform_admins_only(admin: Account) -> None:
    from tests.integration.identity.conftest import register

    member = register()
    assert member.get(DEAD_LETTERS).status == 403
    assert member.post(f"{DEAD_LETTERS}/x/discard", {"reason": "r"}).status == 403
    assert admin.get(f"{DEAD_LETTERS}/{uuid.uuid4()}").code == "DEAD_LETTER_NOT_FOUND"
    assert admin.get(DEAD_LETTERS, query={"status": "LOST"}).status == 400


def stream_record(table: str, image: dict[str, Any], sequence: str) -> dict[str, Any]:
    """A DynamoDB stream record as the stream trigger hands it to the relay."""
    arn = f"arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/2026-01-01T00:00:00.000"
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": arn,
        "dynamodb": {
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": sequence,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def usage_messages(bootstrap: str, start: dict[int, int], event_id: str) -> list[Any]:
    """The usage topic's messages since `start` (partition → offset) that carry `event_id`."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topics.USAGE, p, o) for p, o in start.items()])
    found, idle = [], 0
    while idle < 3:
        message = consumer.poll(1.0)
        if message is None:
            idle += 1
            continue
        if message.error() is None and event_id.encode() in (message.value() or b""):
            found.append(message)
    consumer.close()
    return found


def high_watermarks(bootstrap: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4()}"})
    marks = {
        p: consumer.get_watermark_offsets(TopicPartition(topics.USAGE, p), timeout=10)[1] for p in range(3)
    }
    consumer.close()
    return marks


@pytest.fixture
def relay(kafka_bootstrap: str, lambda_api: str) -> Iterator[Any]:
    """outbox_relay as the Lambda API runs it, producing to the Tansu fixture — deployed without
    its usage-table mapper (the cause); `relay.MAPPERS` restored is the fix."""
    from meterplex.platform import settings

    settings.load.cache_clear()  # MP_KAFKA_BOOTSTRAP now names the Tansu fixture
    runner()._modules.pop("outbox_relay", None)  # its producer is built at import: now, for Tansu
    module = runner().load("outbox_relay")
    saved = dict(module.MAPPERS)
    module.MAPPERS.clear()
    yield module
    module.MAPPERS.update(saved)
    module.producer.flush(5)
    module.producer = None  # destroyed now: no reconnect attempts once the session's broker stops
    runner()._modules.pop("outbox_relay", None)


def test_a_poison_stream_record_is_kept_whole_retried_once_fixed_and_counted_once(
    admin: Account, relay: Any, kafka_bootstrap: str
) -> None:
    # GIVEN an accepted usage event: its stored item, as its stream record reaches the relay
    world = subscribed()
    event_id = f"e-{uuid.uuid4().hex}"
    reply = send(world.tenant, [event(event_id, world.key("calls"))])
    assert reply.body["accepted"] == 1, reply.body
    item = stored_item(world.tenant, event_id)
    assert item is not None
    usage_table = os.environ["MP_USAGE_TABLE"]
    sequence = str(uuid.uuid4().int % 10**20)
    record = stream_record(usage_table, item, sequence)
    # WHEN the relay, deployed without the usage table's mapper, gets it
    assert runner().invoke("outbox_relay", {"Records": [record]}) == {"batchItemFailures": []}
    # THEN it is in the store with the stream record itself (not only its sequence number)
    id_ = dead_letter_id("outbox_relay", f"{usage_table}@{sequence}")
    letter = admin.get(f"{DEAD_LETTERS}/{id_}").body
    assert (letter["status"], letter["kind"], letter["consumer"]) == ("OPEN", "stream", "outbox_relay")
    assert letter["record"]["dynamodb"]["NewImage"] == item and "not an outbox record" in letter["reason"]
    assert id_ in listed(admin, consumer="outbox_relay")

    # WHEN the mapper is deployed again and the dead letter retried (twice)
    relay.MAPPERS[usage_table] = relay.usage_message
    start = high_watermarks(kafka_bootstrap)
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    assert admin.post(f"{DEAD_LETTERS}/{id_}/retry").body["status"] == "RETRIED"
    # THEN the event reached Kafka once, and the aggregator counts it once
    messages = usage_messages(kafka_bootstrap, start, event_id)
    assert len(messages) == 1
    delivery = keyed_batch(
        topics.USAGE, [messages[0].value()], world.tenant, first_offset=messages[0].offset()
    )
    assert runner().invoke("usage_aggregator", delivery) == {"batchItemFailures": []}
    assert runner().invoke("usage_aggregator", delivery) == {"batchItemFailures": []}
    assert check_used(world, "calls") == 1
