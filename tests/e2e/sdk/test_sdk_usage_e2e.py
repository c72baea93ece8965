"""The SDK's usage tracking over real HTTP against the local cloud subprocess (issue 16):
* 10,000 events through a gateway that fails 20 % of the requests → exactly 10,000 counted;
* the SDK process SIGKILLed mid-run and restarted → its journaled events re-sent, counted once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from meterplex_client import Meterplex, RetryPolicy, UsageOptions
from tests.support.fault_proxy import FaultProxy
from tests.support.sdk_tenants import SdkTenant
from tests.support.waiting import wait_for

EVENTS = 10_000
PIPELINE_TIMEOUT_S = 60
WORKER = Path(__file__).with_name("usage_worker.py")


def used(tenant: SdkTenant) -> int:
    with tenant.client() as direct:  # straight to the local cloud, not through the proxy
        return direct.entitlements.check(tenant.plan.metered).used or 0


def counted_exactly(tenant: SdkTenant, expected: int) -> int:
    """Wait until the pipeline counted `expected`, then make sure nothing more arrives."""
    seen: list[int] = []

    def reached() -> bool:
        seen.append(used(tenant))
        return seen[-1] >= expected

    try:
        wait_for(reached, timeout=PIPELINE_TIMEOUT_S, interval=0.2)
    except AssertionError as error:
        raise AssertionError(f"counted {seen[-1]} of {expected} after {PIPELINE_TIMEOUT_S}s") from error
    time.sleep(1.0)  # a late double count would show up here
    return used(tenant)


def test_sdk_counts_10000_events_exactly_through_a_gateway_failing_20_percent(
    new_tenant: Callable[[], SdkTenant], tmp_path: Path
) -> None:
    # GIVEN a tenant with a METERED feature, and a proxy failing every 5th request (503, dropped
    # connection, or answer lost after the server stored the batch)
    tenant = new_tenant()
    with FaultProxy(tenant.url, every=5) as proxy:
        usage = UsageOptions(
            spill_dir=tmp_path,
            batch_size=200,  # 50 batches, 60+ requests, every 5th failed: each failure mode 4+ times
            flush_interval_s=0.2,
            retry=RetryPolicy(max_retries=8, base_s=0.05, cap_s=0.5),
        )
        # WHEN 10,000 events are tracked through the SDK and flushed
        with Meterplex(api_key=tenant.api_key, base_url=proxy.url, usage=usage) as mp:
            started = time.monotonic()
            for _ in range(EVENTS):
                mp.usage.track(tenant.plan.metered, 1)
            mp.usage.flush()
            stats = mp.usage.stats
            print(f"tracked and flushed {EVENTS} in {time.monotonic() - started:.1f}s; {proxy.faults}")

    # THEN the faults happened, nothing was spilled or rejected, and exactly 10,000 are counted
    assert min(proxy.faults.values()) >= 3, proxy.faults
    assert proxy.requests >= 60
    assert (stats.spilled, stats.rejected) == (0, 0)
    assert stats.accepted + stats.duplicates == EVENTS
    assert stats.duplicates > 0  # the "lost" answers: re-sent, reported duplicate, not re-counted
    assert counted_exactly(tenant, EVENTS) == EVENTS
    assert not list(tmp_path.rglob("*.jsonl"))  # all acked: the journal is gone


def test_sdk_process_killed_mid_run_resends_on_restart_and_counts_once(
    new_tenant: Callable[[], SdkTenant], tmp_path: Path
) -> None:
    tenant = new_tenant()
    count = 2000
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with FaultProxy(tenant.url, every=5, delay_s=0.3) as proxy:
        args = [tenant.api_key, tenant.plan.metered]
        # GIVEN an SDK process that tracked 2,000 events and is sending them (slowly, with faults)
        worker = subprocess.Popen(
            [sys.executable, str(WORKER), "track", proxy.url, *args, str(count), str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == f"tracked {count}"
            wait_for(lambda: proxy.forwarded >= 2, timeout=30)
        finally:
            # WHEN it is killed mid-run: some batches counted, one in flight, the rest queued
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        forwarded_at_kill = proxy.forwarded
        assert list(tmp_path.rglob("seg-*.jsonl")), "the journal is on disk"

    # THEN the restarted process re-sends what was not acknowledged, and each event counts once
    restarted = subprocess.run(
        [sys.executable, str(WORKER), "resend", tenant.url, *args, "0", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    resent = int(restarted.stdout.split()[1])
    print(f"killed after {forwarded_at_kill} forwarded requests; restarted: {restarted.stdout.strip()}")
    assert 0 < resent <= count, restarted.stdout
    assert forwarded_at_kill * 500 < count  # it really was killed before it had sent everything
    assert counted_exactly(tenant, count) == count
    assert not list(tmp_path.rglob("*.jsonl"))
