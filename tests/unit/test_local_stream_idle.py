"""The local stream poller's idle pace (infra.local.stream_poller): no pause while records come,
then 50 ms doubling to Lambda's 250 ms while the stream stays empty, back to 50 ms after data."""

from __future__ import annotations

from types import SimpleNamespace

from infra.local.stream_poller import IDLE_SLEEP_MAX_S, IDLE_SLEEP_S, StreamPoller


def test_an_idle_stream_is_polled_less_and_less_often_and_a_busy_one_at_once() -> None:
    trigger = SimpleNamespace(function="f", retry_attempts=0, filters=[], batch_size=10)
    poller = StreamPoller(trigger, "table", invoke=lambda *_: None, dead_letters=None)  # type: ignore[arg-type]
    reads = iter([0, 0, 0, 0, 0, 7, 3, 0, 0])  # records found by each poll
    waits: list[float] = []

    def poll_once() -> int:
        found = next(reads, None)
        if found is None:
            poller._stop.set()
            return 1
        return found

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    poller.poll_once = poll_once  # type: ignore[method-assign]
    poller._stop.wait = wait  # type: ignore[method-assign]
    poller._refresh_shards = lambda: None  # type: ignore[method-assign]
    poller._run()
    assert (IDLE_SLEEP_S, IDLE_SLEEP_MAX_S) == (0.05, 0.25)
    # five empty polls: 50, 100, 200, 250, 250 ms; two with records: no wait; then 50, 100 ms again
    assert waits == [0.05, 0.1, 0.2, 0.25, 0.25, 0.05, 0.1]
