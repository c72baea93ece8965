"""What following a record costs (ADR 0105, ADR 0106): the per-record log line every consumer now
writes, in CPU time per line, bytes per line, and what the local telemetry sink adds to it.

    python -m bench.telemetry [--records 20000]

Prints µs per record for a Kafka batch handled by `platform.consumer.KafkaConsumer` with a handler
that does nothing (so the figure is the consumer's own cost: parsing, correlation id, the line),
with the logger writing to nowhere, then through the local sink (each line parsed, kept in its
function's file, metrics registered). Never a pass/fail: figures to read.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")

from infra.local.functions import LambdaContext
from infra.local.kafka_poller import msk_event
from infra.local.telemetry import TelemetrySink
from meterplex.platform.consumer import KafkaConsumer, domain_event_of
from meterplex.platform.events import DomainEvent
from meterplex.platform.observability import logger
from tests.support.kafka_events import FakeMessage

BATCH = 500  # the usage aggregator's batch size (infra/topology.py)
RUNS = 5


def batch(offset: int) -> dict[str, Any]:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    messages = []
    for i in range(BATCH):
        event = DomainEvent.new("usage.recorded", tenant_id="tenant-1", at=at, data={"n": i})
        headers = [("x-correlation-id", f"req-{offset + i}".encode())]
        messages.append(
            FakeMessage("meterplex.usage.v1", 0, offset + i, event.to_json().encode(), b"t", headers)
        )
    return msk_event(messages, "127.0.0.1:9092")


def us_per_record(records: int, *, logging_on: bool) -> float:
    consumer = KafkaConsumer("bench_consumer", domain_event_of)
    events = [batch(i * BATCH) for i in range(max(1, records // BATCH))]
    logger.setLevel(logging.INFO if logging_on else logging.WARNING)
    context = LambdaContext("bench_consumer")
    started = time.perf_counter()
    for event in events:
        consumer.run(event, context, lambda message: "done")
    return (time.perf_counter() - started) / (len(events) * BATCH) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    records = parser.parse_args().records
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    sink_out = io.StringIO()
    previous = handler.setStream(sink_out)
    try:
        quiet = statistics.median(us_per_record(records, logging_on=False) for _ in range(RUNS))
        logged = statistics.median(us_per_record(records, logging_on=True) for _ in range(RUNS))
        lines = [line for line in sink_out.getvalue().splitlines() if '"record processed"' in line]
        with tempfile.TemporaryDirectory() as directory:
            handler.setStream(io.StringIO())
            sink = TelemetrySink(Path(directory)).start()  # tees the handler's stream
            try:
                with sink.capture("bench_consumer"):
                    captured = statistics.median(us_per_record(records, logging_on=True) for _ in range(RUNS))
            finally:
                sink.stop()
    finally:
        handler.setStream(previous)
        logger.setLevel(logging.INFO)
    size = statistics.mean(len(line) + 1 for line in lines) if lines else 0.0
    load = os.getloadavg()[0]
    print(f"records per run: {records} (batches of {BATCH}), median of {RUNS} runs, load average {load:.1f}")
    print(f"consumer without its log line:          {quiet:7.1f} µs/record")
    print(f"consumer with one INFO line per record: {logged:7.1f} µs/record  (+{logged - quiet:.1f} µs)")
    print(f"  the line: {size:.0f} bytes  → {size * 1e6 / 2**30:.2f} GiB of logs per million records")
    print(f"locally, through the telemetry sink:    {captured:7.1f} µs/record  (+{captured - logged:.1f} µs)")


if __name__ == "__main__":
    main()
