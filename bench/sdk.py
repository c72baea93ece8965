"""SDK benchmark: the cost of `mp.usage.track()` in-process, and events/s through the SDK to the local
cloud next to raw batched HTTP from the same process.

    .venv/bin/python -m bench.sdk [--calls 200000] [--events 10000] [--batch 1000] [--rounds 4]

1. Overhead per `track()` call, no network: the SDK with an in-memory HTTP transport that answers
   every batch at once (the background sender runs as in production), for both durability modes
   (`memory`, and `journal`: one `write()` per call).
2. Throughput: a local cloud subprocess (moto + Tansu + gateway, free ports); one tenant with a
   METERED feature; `--events` sent (a) as raw batched HTTP (httpx, pre-built events, batches of
   `--batch`, one request at a time) and (b) through `mp.usage.track()` + `flush()` — both until
   every batch is answered 202. Prints events/s and the ratio SDK / raw (target ≥ 0.9).
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from infra.local.processes import stop
from meterplex_client import Meterplex, UsageOptions
from meterplex_client.usage.events import usage_event

REPO = Path(__file__).resolve().parents[1]
ADMIN = ("admin@meterplex.local", "Admin12345!")  # infra.local.cloud defaults


def _accept_all(request: httpx.Request) -> httpx.Response:
    events = json.loads(request.content)["events"]
    body = {
        "accepted": len(events),
        "duplicates": 0,
        "rejected": 0,
        "events": [{"eventId": e["eventId"], "status": "accepted"} for e in events],
    }
    return httpx.Response(202, json=body)


def track_overhead(calls: int, durability: str, spill: Path) -> tuple[float, float, float]:
    """(mean, p50, p99) µs per track() call on the caller's thread, in chunks of 100 calls.

    The sender is held (its first send blocks) so the figure is the caller's cost alone:
    validation, the UUIDv7, the journal `write()`, the queue."""
    release = threading.Event()

    def held(request: httpx.Request) -> httpx.Response:
        release.wait()
        return _accept_all(request)

    http = httpx.Client(transport=httpx.MockTransport(held))
    usage = UsageOptions(
        spill_dir=spill / durability,
        durability=durability,  # type: ignore[arg-type]
        background=True,
        max_queue=calls + 2000,
    )
    mp = Meterplex(api_key="mp_live_bench", base_url="http://bench.invalid", usage=usage, http_client=http)
    mp.usage.track("api_calls")  # start the tracker (spill directory, recovery, thread)
    chunk, per_call = 100, []
    started = time.perf_counter()
    for _ in range(calls // chunk):
        t0 = time.perf_counter_ns()
        for _ in range(chunk):
            mp.usage.track("api_calls", 1)
        per_call.append((time.perf_counter_ns() - t0) / chunk / 1000)
    elapsed = time.perf_counter() - started
    release.set()
    mp.close()
    per_call.sort()
    return elapsed / calls * 1e6, statistics.median(per_call), per_call[int(len(per_call) * 0.99)]


def all_in(calls: int, spill: Path) -> float:
    """µs per event, track() + flush() through an in-memory transport (which parses each batch
    and answers it, as the API would): the SDK's whole CPU cost per event, sending included."""
    http = httpx.Client(transport=httpx.MockTransport(_accept_all))
    usage = UsageOptions(spill_dir=spill / "all-in", background=True, max_queue=calls + 2000)
    mp = Meterplex(api_key="mp_live_bench", base_url="http://bench.invalid", usage=usage, http_client=http)
    started = time.perf_counter()
    for _ in range(calls):
        mp.usage.track("api_calls", 1)
    mp.usage.flush()
    elapsed = time.perf_counter() - started
    mp.close()
    return elapsed / calls * 1e6


@contextmanager
def local_cloud() -> Iterator[str]:
    port = 20000 + int.from_bytes(os.urandom(2)) % 20000
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MP_", "AWS_ENDPOINT"))}
    env |= {
        "MP_MOTO_PORT": "0",
        "MP_KAFKA_PORT": "0",
        "MP_SEED_DEMO": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.local", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(process, url, log)
            yield url
        finally:
            stop(process, 20)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"local cloud exited:\n{log.read().decode()[-4000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("local cloud not healthy in 90 s")
        time.sleep(0.3)


def tenant_key(url: str) -> tuple[str, str]:
    """A plan with a METERED feature, a tenant subscribed to it, its API key — through the SDK."""
    suffix = uuid.uuid4().hex[:8]
    with Meterplex(base_url=url) as admin:
        admin.auth.login(*ADMIN)
        plan = admin.plans.create("Bench", f"bench-{suffix}")
        price = admin.prices.create(plan.id, interval="MONTHLY", amount=100)
        feature = admin.features.create("Events", f"bench_{suffix}", "METERED")
        admin.plan_entitlements.create(plan.id, feature.id, included_amount=0, overage_price=1)
    with Meterplex(base_url=url) as owner:
        owner.auth.register(
            email=f"bench-{suffix}@example.com",
            password="DevPass123",
            first_name="B",
            last_name="Ench",
            tenant_name="Bench",
            tenant_slug=f"bench-{suffix}",
        )
        owner.subscriptions.create(plan.id, price.id)
        return owner.api_keys.create("bench").key, feature.lookup_key


def raw_http(url: str, key: str, feature: str, events: int, batch: int) -> float:
    """Pre-built batches of the same events the SDK would send (UUIDv7 ids, current timestamps)."""
    batches = [[usage_event(feature, 1) for _ in range(batch)] for _ in range(events // batch)]
    headers = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        started = time.perf_counter()
        for body in batches:
            reply = http.post("/api/v1/usage/events", json={"events": body})
            assert reply.status_code == 202 and reply.json()["accepted"] == len(body), reply.text
        return events / (time.perf_counter() - started)


def through_sdk(url: str, key: str, feature: str, events: int, batch: int, spill: Path) -> float:
    usage = UsageOptions(spill_dir=spill, batch_size=batch, max_queue=max(events, batch))
    with Meterplex(api_key=key, base_url=url, usage=usage, timeout=60) as mp:
        started = time.perf_counter()
        for _ in range(events):
            mp.usage.track(feature, 1)
        mp.usage.flush()
        rate = events / (time.perf_counter() - started)
        stats = mp.usage.stats
        assert stats.accepted == events and stats.spilled == 0, stats
        return rate


class Counted:
    """Waits until the pipeline has counted everything sent so far (so runs do not overlap)."""

    def __init__(self, url: str, key: str, feature: str) -> None:
        self.client = Meterplex(api_key=key, base_url=url)
        self.feature = feature
        self.total = 0

    def wait(self, added: float) -> None:
        self.total += int(added)
        deadline = time.monotonic() + 600
        while (self.client.entitlements.check(self.feature).used or 0) < self.total:
            if time.monotonic() > deadline:
                raise SystemExit("the pipeline did not count every event in 10 minutes")
            time.sleep(0.5)


def _rates(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no-cloud", action="store_true", help="only the in-process figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as spill:
        print(f"\nmp.usage.track() overhead, in-process, no network ({args.calls:,} calls)")
        for durability in ("memory", "journal"):
            mean, p50, p99 = track_overhead(args.calls, durability, Path(spill))
            print(f"  durability={durability:8} mean {mean:6.2f} µs/call   p50 {p50:6.2f}   p99 {p99:6.2f}")
        cost = all_in(args.calls, Path(spill))
        print(f"  all-in (track + batch JSON + send to an in-memory API), journal: {cost:6.2f} µs/event")
        if args.no_cloud:
            return

        print(
            f"\nthroughput to the local cloud, {args.events:,} events in batches of {args.batch}"
            f" (202 answered);\n  {args.rounds} rounds of raw and SDK in alternating order, the pipeline"
            " drained before each run"
        )
        raw: list[float] = []
        sdk: list[float] = []
        with local_cloud() as url:
            key, feature = tenant_key(url)
            counted = Counted(url, key, feature)
            raw_http(url, key, feature, args.batch, args.batch)  # warm-up: cold starts, connections
            counted.wait(args.batch)
            for round_ in range(args.rounds):  # the order alternates too: neither always goes first
                for which in ("raw", "sdk") if round_ % 2 == 0 else ("sdk", "raw"):
                    if which == "raw":
                        raw.append(raw_http(url, key, feature, args.events, args.batch))
                    else:
                        spill_dir = Path(spill) / str(round_)
                        sdk.append(through_sdk(url, key, feature, args.events, args.batch, spill_dir))
                    counted.wait(args.events)
        best_raw, best_sdk = max(raw), max(sdk)
        print(f"  raw batched HTTP (httpx)     {best_raw:8,.0f} events/s  (runs: {_rates(raw)})")
        print(f"  SDK track() + flush()        {best_sdk:8,.0f} events/s  (runs: {_rates(sdk)})")
        ratios = sorted(s / r for s, r in zip(sdk, raw, strict=True))
        print(f"  ratio SDK / raw (best runs)  {best_sdk / best_raw:8.2f}   (target ≥ 0.9)")
        listed = ", ".join(f"{x:.2f}" for x in ratios)
        print(f"  ratio per round              {listed} (median {statistics.median(ratios):.2f})")
        print(f"  counted by the pipeline      {counted.total:8,} events, each once")
        print(
            "\nDynamoDB cost: the SDK adds no write of its own — one ingest write per accepted event, as raw"
            " HTTP;\na batch re-sent after a lost answer costs one failed conditional write per event"
            " (reported duplicate, never counted)."
        )


if __name__ == "__main__":
    main()
