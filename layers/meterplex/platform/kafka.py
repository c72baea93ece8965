"""Kafka clients: an idempotent producer and a reader by offset (dead letters, ADR 0094), plaintext
to Tansu locally, IAM (SASL/OAUTHBEARER) on MSK.

confluent-kafka is imported lazily: only the functions that talk to Kafka pay for it.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from meterplex.platform.observability import current_correlation_id, current_trace_header, message_headers
from meterplex.platform.settings import KafkaSettings

if TYPE_CHECKING:
    from confluent_kafka import Producer

_TIMESTAMP_TYPES = {1: "CREATE_TIME", 2: "LOG_APPEND_TIME"}
# The client insists on a group name even when it only `assign`s and never commits; it still looks
# the group's coordinator up, so the reader's role may describe this group (nothing more).
READER_GROUP = "meterplex-dead-letter-reader"


def client_config(settings: KafkaSettings) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap.servers": settings.kafka_bootstrap}
    if settings.kafka_auth == "iam":
        region = os.environ.get("AWS_REGION", "us-east-1")

        def _msk_token(_: str) -> tuple[str, float]:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

            token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
            return token, expiry_ms / 1000

        config |= {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "OAUTHBEARER",
            "oauth_cb": _msk_token,
        }
    return config


def create_producer(settings: KafkaSettings, extra: dict[str, Any] | None = None) -> Producer:
    """An idempotent producer: retries never duplicate or reorder a partition's messages.
    `extra` adds client settings (e.g. librdkafka statistics for a benchmark)."""
    from confluent_kafka import Producer

    return Producer(
        client_config(settings)
        | {
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            "message.timeout.ms": settings.kafka_message_timeout_ms,
        }
        | (extra or {})
    )


class DeliveryFailed(Exception):
    """Some messages were not confirmed by the broker (the caller retries; consumers are idempotent)."""


def produce_all(producer: Any, topic: str, messages: Iterable[tuple[str, str]], timeout_s: float = 30) -> int:
    """Produce `(key, value)` messages to `topic` and wait until the broker confirmed every one
    (one flush for the lot); the number sent. Raises DeliveryFailed otherwise. Each message carries
    the correlation id and trace header of the invocation producing it (ADR 0105)."""
    failures: list[str] = []
    sent = 0
    headers = message_headers(current_correlation_id(), current_trace_header())

    def delivered(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(str(error))

    for key, value in messages:
        producer.produce(
            topic, value=value.encode(), key=key.encode(), headers=headers, on_delivery=delivered
        )
        producer.poll(0)
        sent += 1
    if producer.flush(timeout_s) > 0 or failures:
        raise DeliveryFailed(
            f"{len(failures) or 'some'} of {sent} messages to {topic} not delivered: {failures[:3]}"
        )
    return sent


class KafkaUnavailable(Exception):
    """The broker did not answer (the caller fails the message so that it is taken again later)."""


class RecordsGone(Exception):
    """The broker answered, but the asked offsets are not (or no longer) on it: retention passed,
    the topic was deleted, or they were never written."""


def _b64(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def _byte_list(value: bytes | str | None, known: dict[bytes, list[int]] | None) -> list[int]:
    raw = value.encode("utf-8") if isinstance(value, str) else (value or b"")
    if known is None:
        return list(raw)
    spelled = known.get(raw)
    if spelled is None:
        spelled = known[raw] = list(raw)
    return spelled


def msk_event_record(message: Any, byte_lists: dict[bytes, list[int]] | None = None) -> dict[str, Any]:
    """A confluent-kafka message as Lambda's MSK trigger hands it to a function (base64 key and
    value, headers as lists of byte values). `byte_lists`: header values already spelled as
    lists in this batch (the messages of one request carry the same correlation and trace ids)."""
    kind, timestamp = message.timestamp()
    record: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": timestamp,
        "timestampType": _TIMESTAMP_TYPES.get(kind, "CREATE_TIME"),
        "value": _b64(message.value()),
        "headers": [{name: _byte_list(value, byte_lists)} for name, value in (message.headers() or [])],
    }
    key = _b64(message.key())
    if key is not None:
        record["key"] = key
    return record


def read_offsets(
    settings: KafkaSettings, topic: str, partition: int, first: int, last: int, *, timeout_s: float = 5
) -> list[dict[str, Any]]:
    """The records `first`..`last` (inclusive) of one partition, as MSK event records, read by
    offset: a consumer `assign`ed at `first` that commits nothing. Raises RecordsGone when the
    broker holds none or only part of them (before its low watermark: retention; the topic is
    gone; past its end), KafkaUnavailable when it does not answer within `timeout_s`."""
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    where = f"{topic}-{partition}@{first}-{last}"
    if first < 0 or last < first:
        raise RecordsGone(f"{where}: no such offsets")
    consumer = Consumer(
        client_config(settings)
        | {
            "group.id": READER_GROUP,  # never joined: assign() only, nothing committed
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            "auto.offset.reset": "error",  # an offset the broker no longer has is an error, not a skip
            "log_level": 0,
        }
    )
    try:
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout_s)
        except KafkaException as error:
            code = error.args[0].code() if error.args else None
            if code in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION):
                raise RecordsGone(f"{where}: the topic or partition is gone") from error
            raise KafkaUnavailable(f"{where}: {error}") from error
        if first < low:
            raise RecordsGone(f"{where}: the broker keeps offsets from {low} only (retention)")
        consumer.assign([TopicPartition(topic, partition, first)])
        return _read_range(consumer, where, first, last, past_end=first >= high, timeout_s=timeout_s)
    finally:
        consumer.close()


def _read_range(
    consumer: Any, where: str, first: int, last: int, *, past_end: bool, timeout_s: float
) -> list[dict[str, Any]]:
    from confluent_kafka import KafkaError

    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        error = message.error()
        if error is not None:
            if error.code() in (KafkaError._PARTITION_EOF, KafkaError._AUTO_OFFSET_RESET):
                break  # the end of what the broker has, or an offset it no longer has
            raise KafkaUnavailable(f"{where}: {error}")
        offset = message.offset()
        if first <= offset <= last:
            records.append(msk_event_record(message))
        if offset >= last:
            return records
    else:  # nothing more within the time: a broker silent past its end (gone), or a slow one
        if records or not past_end:
            raise KafkaUnavailable(f"{where}: {len(records)} records read within {timeout_s} s")
    count = last - first + 1
    raise RecordsGone(
        f"{where}: the broker holds {len(records)} of these {count} offsets (retention, or past its end)"
    )
