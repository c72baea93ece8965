"""EventBridge Scheduler, locally: each schedule fires its function every `local_interval_s`, by
business time (ADR 0050).

While the test clock runs (real time, or real time + an offset) a due schedule gets the EventBridge
Scheduler event with `time` = business now. While the clock is frozen, or an advance holds it,
nothing fires: frozen business time does not move, so nothing new comes due, and a firing at the
frozen instant would repeat what `POST /admin/clock/advance` already ran — advance is then the only
thing that fires schedules. `business_time` returns None to say so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from infra.local.aws import ACCOUNT_ID, REGION
from meterplex.platform.schedules import schedule_arn, scheduled_event

log = logging.getLogger("localcloud.scheduler")

Invoke = Callable[[str, dict[str, Any]], Any]
BusinessTime = Callable[[], datetime | None]


def local_schedule_arn(name: str, stage: str = "local") -> str:
    """The ARN a schedule would have in a stack of this stage (`meterplex-<stage>-<name>`)."""
    return schedule_arn(REGION, ACCOUNT_ID, f"meterplex-{stage}-{name}")


def schedule_event(schedule: Any, at: datetime, stage: str = "local") -> dict[str, Any]:
    """The Scheduled Event one firing of `schedule` at `at` delivers (as EventBridge Scheduler does)."""
    return scheduled_event(local_schedule_arn(schedule.name, stage), at)


def real_time() -> datetime | None:
    return datetime.now(UTC)


class Scheduler:
    """Fires due schedules; `tick` is the whole behaviour, `start` runs it in a thread."""

    def __init__(
        self,
        schedules: Iterable[Any],
        invoke: Invoke,
        *,
        clock: Callable[[], float] = time.monotonic,
        business_time: BusinessTime = real_time,
        stage: str = "local",
    ) -> None:
        self.schedules = tuple(schedules)
        self.invoke = invoke
        self.stage = stage
        self._clock = clock
        self._business_time = business_time
        now = clock()
        self._next_due = {s.name: now + s.local_interval_s for s in self.schedules}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def tick(self) -> list[str]:
        """Invoke every schedule that is due (unless the test clock is frozen); the names fired."""
        now = self._clock()
        due = [s for s in self.schedules if now >= self._next_due[s.name]]
        if not due:
            return []
        for schedule in due:
            self._next_due[schedule.name] = now + schedule.local_interval_s
        try:
            at = self._business_time()
        except Exception:
            log.exception("reading the test clock failed; schedules skipped this round")
            return []
        if at is None:
            log.debug("test clock frozen: %s wait for an advance", [s.name for s in due])
            return []
        fired = []
        for schedule in due:
            event = schedule_event(schedule, at, self.stage)
            try:
                self.invoke(schedule.function, event)
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
