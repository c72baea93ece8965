"""The MSK event source mapping: topic → MSK-format batches → function, with partial batch
failure, bounded retry and an on-failure destination.

Tansu takes ~20 s to form a consumer group on subscribe(), so the poller assign()s every
partition, resumes from the group's committed offsets and commit()s explicit offsets after each
handled batch: instant start-up, same at-least-once delivery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from infra.local.aws import ACCOUNT_ID, REGION
from infra.local.dead_letters import DeadLetters
from meterplex.platform.kafka import msk_event_record

log = logging.getLogger("localcloud.kafka")

Invoke = Callable[[str, dict[str, Any]], Any]
CLUSTER_ARN = f"arn:aws:kafka:{REGION}:{ACCOUNT_ID}:cluster/meterplex-local/local"
DEFAULT_RETRY_ATTEMPTS = 3
IDLE_GAP_S = 0.02  # a drained partition flushes the batch early (see docs/local-cloud.md)
FETCH_WAIT_MS = 100  # Tansu holds a fetch for the whole wait: ≤ 100 ms per hop, ~10 fetches/s per idle poller


class Message(Protocol):
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def timestamp(self) -> tuple[int, int]: ...
    def key(self) -> Any: ...
    def value(self) -> Any: ...
    def headers(self) -> Any: ...


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def msk_event(messages: Iterable[Message], bootstrap: str) -> dict[str, Any]:
    """The event Lambda builds for an MSK batch: records grouped by "<topic>-<partition>"."""
    records: dict[str, list[dict[str, Any]]] = {}
    byte_lists: dict[bytes, list[int]] = {}  # a header value repeated in the batch is spelled once
    for message in messages:
        key = partition_key(str(message.topic()), int(message.partition() or 0))
        records.setdefault(key, []).append(msk_event_record(message, byte_lists))
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": CLUSTER_ARN,
        "bootstrapServers": bootstrap,
        "records": records,
    }


def _identifier(failure: Any) -> tuple[str, int] | None:
    """(partition key, offset) of one batchItemFailures entry.

    Powertools' BatchProcessor(EventType.Kafka) reports `{"partition": "<topic>-<p>", "offset": n}`;
    the string form `"<topic>-<p>@<offset>"` is accepted too.
    """
    identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
    try:
        if isinstance(identifier, dict):
            return str(identifier["partition"]), int(identifier["offset"])
        if isinstance(identifier, str) and "@" in identifier:
            key, offset = identifier.rsplit("@", 1)
            return key, int(offset)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def failed_offsets(event: dict[str, Any], response: Any) -> dict[str, int]:
    """For each partition of the batch that failed, its lowest failed offset.

    A malformed response or an identifier not in the batch fails the whole batch (as Lambda does).
    """
    whole_batch = {key: records[0]["offset"] for key, records in event["records"].items()}
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return {}
    failed: dict[str, int] = {}
    for failure in response["batchItemFailures"]:
        parsed = _identifier(failure)
        if parsed is None:
            return whole_batch
        key, offset = parsed
        offsets = [r["offset"] for r in event["records"].get(key, [])]
        if offset not in offsets:
            return whole_batch
        failed[key] = min(offset, failed.get(key, offset))
    return failed


class KafkaPoller:
    """One Kafka trigger, consuming in a thread."""

    def __init__(
        self,
        trigger: Any,
        bootstrap: str,
        invoke: Invoke,
        dead_letters: DeadLetters,
        *,
        idle_gap_s: float = IDLE_GAP_S,
    ) -> None:
        self.trigger = trigger
        self.function = trigger.function
        self.bootstrap = bootstrap
        self.invoke = invoke
        self.dead_letters = dead_letters
        self.retry_attempts = int(getattr(trigger, "retry_attempts", DEFAULT_RETRY_ATTEMPTS))
        self.idle_gap_s = idle_gap_s
        self._attempts: dict[tuple[str, int], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kafka-{self.function}", daemon=True)
        self.batches_handled = 0

    def start(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self._consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.trigger.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": FETCH_WAIT_MS,
                "log_level": 0,
            }
        )
        topic = self.trigger.topic
        metadata = self._consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        committed = self._consumer.committed(partitions, timeout=10)
        start = [
            TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
            for tp in committed
        ]
        self._consumer.assign(start)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    batch = self._collect()
                    if batch:
                        self.handle(batch)
                except Exception:
                    if self._stop.is_set():
                        break
                    log.exception("kafka poller for %s failed; retrying", self.function)
                    self._stop.wait(0.5)
        finally:
            self._consumer.close()

    def _collect(self) -> list[Any]:
        """Up to batch_size messages within the batching window (flushed early when drained)."""
        first = self._consumer.poll(0.1)
        if first is None:
            return []
        batch = [first]
        deadline = time.monotonic() + float(self.trigger.max_batching_window_s)
        while len(batch) < self.trigger.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._consumer.consume(
                num_messages=self.trigger.batch_size - len(batch), timeout=min(self.idle_gap_s, remaining)
            )
            if not more:
                break
            batch.extend(more)
        good = []
        for message in batch:
            if message.error():
                log.warning("kafka error on %s: %s", self.trigger.topic, message.error())
            else:
                good.append(message)
        return good

    def handle(self, messages: Sequence[Any]) -> None:
        """Invoke the function on one batch, then commit/seek each partition by its outcome."""
        from confluent_kafka import TopicPartition

        event = msk_event(messages, self.bootstrap)
        try:
            failed = failed_offsets(event, self.invoke(self.function, event))
            reason = "batchItemFailures"
        except Exception as error:
            log.exception("%s failed on a kafka batch", self.function)
            failed = {key: records[0]["offset"] for key, records in event["records"].items()}
            reason = f"{type(error).__name__}: {error}"
        commits = []
        for key, records in event["records"].items():
            topic, partition = records[0]["topic"], records[0]["partition"]
            failed_offset = failed.get(key)
            if failed_offset is None:
                commits.append(TopicPartition(topic, partition, records[-1]["offset"] + 1))
                continue
            attempts = self._attempts.get((key, failed_offset), 0) + 1
            resume = failed_offset
            if attempts > self.retry_attempts:
                record = next(r for r in records if r["offset"] == failed_offset)
                self.dead_letters.send(
                    self.function, [record], source="aws:kafka", reason=reason, attempts=attempts
                )
                self._attempts.pop((key, failed_offset), None)
                resume = failed_offset + 1
            else:
                self._attempts[(key, failed_offset)] = attempts
            commits.append(TopicPartition(topic, partition, resume))
            self._consumer.seek(TopicPartition(topic, partition, resume))
        if commits:
            self._consumer.commit(offsets=commits, asynchronous=False)
        self.batches_handled += 1
