"""Kafka clients: an idempotent producer, plaintext to Tansu locally, IAM (SASL/OAUTHBEARER) on MSK.

confluent-kafka is imported lazily: only the functions that talk to Kafka pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from meterplex.platform.observability import current_correlation_id, current_trace_header, message_headers
from meterplex.platform.settings import KafkaSettings

if TYPE_CHECKING:
    from confluent_kafka import Producer


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
