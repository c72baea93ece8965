"""A process that uses the SDK, for the kill test: `track` tracks COUNT events and then waits to be
killed; `resend` is the restarted process: it re-sends what the journal kept and exits.

    python usage_worker.py track URL KEY FEATURE COUNT SPILL_DIR
    python usage_worker.py resend URL KEY FEATURE 0 SPILL_DIR
"""

from __future__ import annotations

import sys
import time

from meterplex_client import Meterplex, RetryPolicy, UsageOptions


def main(mode: str, url: str, key: str, feature: str, count: int, spill_dir: str) -> None:
    usage = UsageOptions(
        spill_dir=spill_dir,
        batch_size=500,
        flush_interval_s=0.2,
        background=True,
        retry=RetryPolicy(max_retries=8, base_s=0.05, cap_s=0.5),
    )
    mp = Meterplex(api_key=key, base_url=url, usage=usage)
    if mode == "track":
        for _ in range(count):
            mp.usage.track(feature, 1)
        print(f"tracked {count}", flush=True)
        time.sleep(3600)  # killed here, with batches sent, in flight and queued
    else:
        queued = mp.usage.resend_spilled()
        mp.close()
        stats = mp.usage.stats
        print(f"resent {queued} accepted {stats.accepted} duplicates {stats.duplicates}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
