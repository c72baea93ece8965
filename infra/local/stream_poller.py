"""The DynamoDB Streams event source mapping: shards → filter → batches → function, with
ReportBatchItemFailures retry and an on-failure destination."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import boto3

from infra.local.aws import REGION
from infra.local.dead_letters import DeadLetters
from infra.local.event_filters import matches_any
from infra.local.stream_reads import StreamReader

log = logging.getLogger("localcloud.streams")

Invoke = Callable[[str, dict[str, Any]], Any]
IDLE_SLEEP_S = 0.05  # the first wait after an empty poll…
IDLE_SLEEP_MAX_S = 0.25  # …doubling while the stream stays empty, up to Lambda's 4 polls/s per shard
SHARD_REFRESH_S = 2.0
RETRY_BACKOFF_S = 0.05


def lambda_record(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A stream record as Lambda delivers it (GetRecords' record as the wire has it, plus
    eventSourceARN), its `ApproximateCreationDateTime` in whole epoch seconds."""
    dynamodb = dict(raw.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, int | float) and not isinstance(created, bool):
        dynamodb["ApproximateCreationDateTime"] = int(created)
    dynamodb.setdefault("StreamViewType", "NEW_AND_OLD_IMAGES")
    return {
        "eventID": raw.get("eventID"),
        "eventName": raw.get("eventName"),
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def first_failed_index(records: Sequence[dict[str, Any]], response: Any) -> int | None:
    """Index of the lowest reported failure; None when the batch succeeded.

    As in Lambda, a malformed response or an identifier not in the batch fails the whole batch.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    sequence_numbers = [r["dynamodb"].get("SequenceNumber") for r in records]
    indexes = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if identifier not in sequence_numbers:
            return 0
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


class BatchDelivery:
    """Deliver one batch with Lambda's stream retry rule: resume from the lowest failed record."""

    def __init__(
        self, function: str, invoke: Invoke, dead_letters: DeadLetters, retry_attempts: int, backoff_s: float
    ) -> None:
        self.function = function
        self.invoke = invoke
        self.dead_letters = dead_letters
        self.retry_attempts = retry_attempts
        self.backoff_s = backoff_s

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        attempts = 0
        while batch:
            attempts += 1
            try:
                failed = first_failed_index(batch, self.invoke(self.function, {"Records": batch}))
                reason = "batchItemFailures"
            except Exception as error:
                log.exception("%s failed on a stream batch", self.function)
                failed, reason = 0, f"{type(error).__name__}: {error}"
            if failed is None:
                return
            batch = batch[failed:]
            if attempts > self.retry_attempts:
                self.dead_letters.send(
                    self.function, batch, source="aws:dynamodb", reason=reason, attempts=attempts
                )
                return
            time.sleep(self.backoff_s * attempts)


class StreamPoller:
    """One trigger: polls every shard of the table's stream from TRIM_HORIZON in a thread."""

    def __init__(
        self,
        trigger: Any,
        table_name: str,
        invoke: Invoke,
        dead_letters: DeadLetters,
        *,
        endpoint: str | None = None,
        idle_sleep_s: float = IDLE_SLEEP_S,
        idle_sleep_max_s: float = IDLE_SLEEP_MAX_S,
        retry_backoff_s: float = RETRY_BACKOFF_S,
    ) -> None:
        self.trigger = trigger
        self.table_name = table_name
        self.endpoint = endpoint
        self.idle_sleep_s = idle_sleep_s
        self.idle_sleep_max_s = max(idle_sleep_s, idle_sleep_max_s)
        self.delivery = BatchDelivery(
            trigger.function, invoke, dead_letters, trigger.retry_attempts, retry_backoff_s
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{trigger.function}", daemon=True)
        self._iterators: dict[str, str | None] = {}
        self.stream_arn = ""

    def start(self) -> None:
        dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=self.endpoint)
        self.stream_arn = dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        self._streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=self.endpoint)
        self._reader = StreamReader(self._streams.meta.endpoint_url)
        self._refresh_shards()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _refresh_shards(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def _run(self) -> None:
        refreshed = time.monotonic()
        idle_sleep_s = self.idle_sleep_s
        while not self._stop.is_set():
            try:
                if time.monotonic() - refreshed > SHARD_REFRESH_S:
                    self._refresh_shards()
                    refreshed = time.monotonic()
                delivered = self.poll_once()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("stream poller for %s failed; retrying", self.trigger.function)
                delivered = 0
            if delivered:
                idle_sleep_s = self.idle_sleep_s
            else:  # an idle stream is polled less and less often (an idle local cloud stays cool)
                self._stop.wait(idle_sleep_s)
                idle_sleep_s = min(self.idle_sleep_max_s, idle_sleep_s * 2)

    def poll_once(self) -> int:
        """Read each shard once and deliver what passes the filters; the number of records read."""
        read = 0
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._reader.get_records(iterator, limit=1000)
            self._iterators[shard_id] = response.get("NextShardIterator")
            records = [lambda_record(r, self.stream_arn) for r in response.get("Records", [])]
            read += len(records)
            wanted = [r for r in records if matches_any(self.trigger.filters, r)]
            size = max(1, self.trigger.batch_size)
            for start in range(0, len(wanted), size):
                self.delivery.deliver(wanted[start : start + size])
        return read
