"""Usage tracking: batching, ids, retries, rejected callbacks, back-pressure, spill and journal
recovery, and the Lambda-safe flush (ADR 0056)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE, KEY, envelope, make_client, usage_answer

from meterplex_client import Meterplex, RetryPolicy, UsageOptions
from meterplex_client.ids import uuid7

EVENTS = f"{BASE}/api/v1/usage/events"


def sent_ids(route: respx.Route) -> list[list[str]]:
    return [[e["eventId"] for e in json.loads(c.request.content)["events"]] for c in route.calls]


def accept(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json=usage_answer(json.loads(request.content)["events"]))


def options(tmp_path: Path, **kwargs: Any) -> UsageOptions:
    return UsageOptions(**{"spill_dir": tmp_path / "spill", "background": False, **kwargs})


def spilled_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "spill").rglob("spill-*.jsonl"))


def crash(mp: Meterplex) -> None:
    """What SIGKILL does to a client: its descriptors (and flocks) go, memory is gone, no ack."""
    tracker = mp.usage._core.tracker()
    for segment in [tracker._live, *tracker._adopted]:
        if segment is not None:
            segment.close()
    tracker._queue.clear()
    tracker._backlog.clear()
    tracker._started = False


def test_uuid7_has_version_7_and_sorts_by_time() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@respx.mock
def test_track_sends_full_batches_and_flush_sends_the_rest(tmp_path: Path) -> None:
    route = respx.post(EVENTS).mock(side_effect=accept)
    mp, _ = make_client(tmp_path, usage=options(tmp_path, batch_size=3))
    ids = [mp.usage.track("api_calls", 2) for _ in range(7)]
    assert [len(b) for b in sent_ids(route)] == [3, 3]
    mp.usage.flush()
    assert sent_ids(route) == [ids[:3], ids[3:6], ids[6:]]
    assert mp.usage.stats.accepted == 7
    body = json.loads(route.calls[0].request.content)["events"][0]
    assert body["feature"] == "api_calls" and body["amount"] == 2 and body["timestamp"].endswith("Z")


@respx.mock
def test_a_retried_batch_carries_the_same_event_ids(tmp_path: Path) -> None:
    route = respx.post(EVENTS).mock(side_effect=[httpx.Response(503), httpx.ReadError("dropped"), accept])
    mp, sleeps = make_client(tmp_path, usage=options(tmp_path, batch_size=2))
    mp.usage.track("api_calls")
    mp.usage.track("api_calls")
    batches = sent_ids(route)
    assert len(batches) == 3 and batches[0] == batches[1] == batches[2]
    assert len(sleeps) == 2


@respx.mock
def test_rejected_events_reach_on_rejected(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        return httpx.Response(
            202,
            json={
                "accepted": 1,
                "duplicates": 0,
                "rejected": 1,
                "events": [
                    {"eventId": events[0]["eventId"], "status": "accepted"},
                    {"eventId": events[1]["eventId"], "status": "rejected", "reason": "FEATURE_NOT_IN_PLAN"},
                ],
            },
        )

    respx.post(EVENTS).mock(side_effect=answer)
    rejected: list[tuple[str, str]] = []
    usage = options(tmp_path, on_rejected=lambda e, reason: rejected.append((e["feature"], reason)))
    mp, _ = make_client(tmp_path, usage=usage)
    mp.usage.track("api_calls")
    mp.usage.track("sso")
    mp.usage.flush()
    assert rejected == [("sso", "FEATURE_NOT_IN_PLAN")]
    assert mp.usage.stats.rejected == 1 and not spilled_files(tmp_path)


@respx.mock
def test_batch_400_naming_one_event_rejects_it_and_sends_the_others(tmp_path: Path) -> None:
    details = [{"field": "events[1].timestamp", "message": "bad"}]
    route = respx.post(EVENTS).mock(
        side_effect=[httpx.Response(400, json=envelope(400, "VALIDATION_FAILED", details=details)), accept]
    )
    rejected: list[str] = []
    mp, _ = make_client(tmp_path, usage=options(tmp_path, on_rejected=lambda e, r: rejected.append(r)))
    ids = [mp.usage.track("api_calls") for _ in range(3)]
    mp.usage.flush()
    assert rejected == ["VALIDATION_FAILED"]
    assert sent_ids(route)[1] == [ids[0], ids[2]]


@respx.mock
def test_persistent_failure_spills_and_the_next_start_resends_the_same_ids(tmp_path: Path) -> None:
    down = respx.post(EVENTS).mock(side_effect=httpx.ConnectError("refused"))
    errors: list[int] = []
    usage = options(tmp_path, max_retries=2, on_error=lambda error, spilled: errors.append(spilled))
    mp, _ = make_client(tmp_path, usage=usage)
    mp.session.retry = RetryPolicy(max_retries=2, rng=lambda: 0.0)
    ids = [mp.usage.track("api_calls") for _ in range(3)]
    mp.usage._core.usage_options.retry = RetryPolicy(max_retries=2, rng=lambda: 0.0)
    mp.usage.flush()
    assert down.call_count == 3  # one try + two retries, then to disk
    assert errors == [3] and len(spilled_files(tmp_path)) == 1
    mp.close()

    # WHEN a new process (a new client, same key and directory) starts and the API is back
    respx.routes.clear()
    up = respx.post(EVENTS).mock(side_effect=accept)
    again, _ = make_client(tmp_path, usage=options(tmp_path))
    again.usage.track("api_calls")  # the first track adopts what is on disk
    again.usage.flush()
    resent = [i for batch in sent_ids(up) for i in batch]
    assert set(ids) <= set(resent) and len(resent) == 4
    assert not spilled_files(tmp_path)


@respx.mock
def test_journal_keeps_unsent_events_across_a_crash(tmp_path: Path) -> None:
    route = respx.post(EVENTS).mock(side_effect=accept)
    mp, _ = make_client(tmp_path, usage=options(tmp_path, batch_size=100))
    ids = [mp.usage.track("api_calls") for _ in range(5)]
    crash(mp)
    assert route.call_count == 0

    again, _ = make_client(tmp_path, usage=options(tmp_path))
    assert again.usage.resend_spilled() == 5
    assert sent_ids(route) == [ids]
    assert not list((tmp_path / "spill").rglob("*.jsonl"))  # all acked: nothing left on disk


@respx.mock
def test_a_live_journal_is_never_adopted_by_another_client(tmp_path: Path) -> None:
    respx.post(EVENTS).mock(side_effect=accept)
    first, _ = make_client(tmp_path, usage=options(tmp_path, batch_size=100))
    first.usage.track("api_calls")
    second, _ = make_client(tmp_path, usage=options(tmp_path))
    assert second.usage.resend_spilled() == 0
    first.close()
    assert second.usage.resend_spilled() == 0  # closed after sending: nothing was left behind


@respx.mock
def test_401_spills_at_once_without_retrying(tmp_path: Path) -> None:
    route = respx.post(EVENTS).respond(401, json=envelope(401, "UNAUTHORIZED"))
    mp, sleeps = make_client(tmp_path, usage=options(tmp_path))
    mp.usage.track("api_calls")
    mp.usage.flush()
    assert route.call_count == 1 and not sleeps
    assert mp.usage.stats.spilled == 1 and len(spilled_files(tmp_path)) == 1


@respx.mock
def test_full_queue_applies_back_pressure_then_spills_the_oldest_batch(tmp_path: Path) -> None:
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        return accept(request)

    respx.post(EVENTS).mock(side_effect=slow)
    usage = options(
        tmp_path, background=True, batch_size=2, max_queue=4, max_block_s=0.3, flush_interval_s=60
    )
    mp, _ = make_client(tmp_path, usage=usage)
    tracker = mp.usage._core.tracker()
    first = [mp.usage.track("api_calls") for _ in range(2)]  # the sender takes these and hangs
    deadline = time.monotonic() + 5
    while tracker.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    queued = [mp.usage.track("api_calls") for _ in range(4)]  # the queue is now full
    started = time.monotonic()
    mp.usage.track("api_calls")  # waits for room, then makes room by spilling the oldest batch
    blocked = time.monotonic() - started
    release.set()
    mp.close()
    assert blocked >= 0.3
    spilled = [
        json.loads(line)["eventId"] for f in spilled_files(tmp_path) for line in f.read_text().splitlines()
    ]
    assert spilled == queued[:2]
    assert mp.usage.stats.spilled == 2 and mp.usage.stats.accepted == 5
    assert first


@respx.mock
def test_batch_scope_and_decorator_flush_before_returning(tmp_path: Path) -> None:
    route = respx.post(EVENTS).mock(side_effect=accept)
    mp, _ = make_client(tmp_path, usage=options(tmp_path))
    with mp.usage.batch():
        mp.usage.track("api_calls")
        assert route.call_count == 0
    assert route.call_count == 1

    @mp.usage.flush_after
    def handler(event: dict[str, Any], context: object) -> str:
        mp.usage.track("api_calls", event["n"])
        return "ok"

    assert handler({"n": 3}, None) == "ok"
    assert route.call_count == 2


@pytest.mark.anyio
@respx.mock
async def test_async_client_tracks_without_blocking_and_flushes(tmp_path: Path) -> None:
    from meterplex_client import AsyncMeterplex

    route = respx.post(EVENTS).mock(side_effect=accept)
    mp = AsyncMeterplex(api_key=KEY, base_url=BASE, usage=options(tmp_path))

    @mp.usage.flush_after
    async def handler() -> None:
        mp.usage.track("api_calls", 4)

    await handler()
    assert route.call_count == 1
    await mp.close()


def test_track_refuses_what_the_api_would_reject_for_the_whole_batch(tmp_path: Path) -> None:
    mp = Meterplex(api_key=KEY, base_url=BASE, usage=options(tmp_path))
    for bad in ({"amount": 0}, {"amount": 1.5}, {"event_id": "x" * 256}, {"metadata": {"k": "v" * 3000}}):
        with pytest.raises(ValueError):
            mp.usage.track("api_calls", **bad)  # type: ignore[arg-type]
