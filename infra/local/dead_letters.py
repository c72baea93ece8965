"""The event source mappings' on-failure destination, locally: `.local/dlq/<function>.jsonl`."""

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
