"""EventBridge Scheduler, locally: each schedule fires its function every `local_interval_s`."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from infra.local.aws import ACCOUNT_ID, REGION

log = logging.getLogger("localcloud.scheduler")

Invoke = Callable[[str, dict[str, Any]], Any]


def schedule_arn(name: str) -> str:
    return f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/meterplex-local-{name}"


def schedule_event(schedule: Any, now: datetime) -> dict[str, Any]:
    """The event an EventBridge Scheduler target receives (the templated 'Scheduled Event')."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT_ID,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [schedule_arn(schedule.name)],
        "detail": {},
    }


class Scheduler:
    """Fires due schedules; `tick` is the whole behaviour, `start` runs it in a thread."""

    def __init__(
        self,
        schedules: Iterable[Any],
        invoke: Invoke,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.schedules = tuple(schedules)
        self.invoke = invoke
        self._clock = clock
        self._wall_clock = wall_clock
        now = clock()
        self._next_due = {s.name: now + s.local_interval_s for s in self.schedules}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def tick(self) -> list[str]:
        """Invoke every schedule that is due; the names fired."""
        now = self._clock()
        fired = []
        for schedule in self.schedules:
            if now < self._next_due[schedule.name]:
                continue
            self._next_due[schedule.name] = now + schedule.local_interval_s
            try:
                self.invoke(schedule.function, schedule_event(schedule, self._wall_clock()))
            except Exception:
                log.exception("scheduled invocation %s of %s failed", schedule.name, schedule.function)
            fired.append(schedule.name)
        return fired

    def seconds_until_next(self) -> float:
        if not self._next_due:
            return 3600.0
        return max(0.0, min(self._next_due.values()) - self._clock())

    def start(self) -> None:
        if self.schedules:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.seconds_until_next())):
            self.tick()
