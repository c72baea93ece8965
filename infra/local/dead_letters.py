"""The event source mappings' on-failure destination, locally: `.local/dlq/<function>.jsonl` (the
SQS queue of AWS), and — what `dead_letter_intake` does with that queue in AWS — every failed
record in the one dead-letter store (ADR 0091). Locally the poller still holds the records, so
they are stored as they are, with no re-read from the stream."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("localcloud.dlq")


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def path_of(self, function: str) -> Path:
        return self.directory / f"{function}.jsonl"

    def send(self, function: str, records: Iterable[Any], *, source: str, reason: str, attempts: int) -> None:
        records = list(records)
        failed_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.path_of(function).open("a", encoding="utf-8") as file:
                for record in records:
                    line = {
                        "function": function,
                        "source": source,
                        "reason": reason,
                        "attempts": attempts,
                        "failedAt": failed_at,
                        "record": record,
                    }
                    file.write(json.dumps(line, default=str) + "\n")
        for record in records:
            store(function, record, source=source, reason=reason, attempts=attempts)
        log.warning(
            "%d record(s) of %s sent to the on-failure destination %s after %d attempt(s): %s",
            len(records),
            function,
            self.path_of(function),
            attempts,
            reason,
        )

    def read(self, function: str) -> list[dict[str, Any]]:
        path = self.path_of(function)
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def store(function: str, record: Any, *, source: str, reason: str, attempts: int) -> None:
    """One failed record into the dead-letter store, as the intake keeps it in AWS."""
    from meterplex.platform.clock import system_clock
    from meterplex.platform.dead_letters import RecordKind, dead_letter, dead_letter_kafka_record
    from meterplex.platform.relay import stream_source_of, tenant_of_stream_record

    why = f"retries exhausted ({attempts} attempts): {reason}"
    try:
        if source == "aws:dynamodb":
            dead_letter(
                consumer=function,
                source=stream_source_of(record),
                reason=why,
                payload=json.dumps((record.get("dynamodb") or {}).get("NewImage") or {}, default=str),
                at=system_clock.now(),
                record=record,
                kind=RecordKind.STREAM,
                tenant_id=tenant_of_stream_record(record),
            )
        else:
            dead_letter_kafka_record(function, record, reason=why, at=system_clock.now())
    except Exception:  # the queue file keeps it; never lose the poller over the store
        log.exception("could not store a dead letter of %s", function)
