"""CPU seconds per process and the machine's stolen time, from /proc (Linux). On this shared VM
the same run's events/s moves ±40 % from one run to the next; the CPU each process spends per
event says where the work is (which process bounds the pipeline) rather than how long it waited,
and the steal share says how much of the machine the hypervisor reported keeping for others. Both
still move with the host's speed (measured: 0.8–1.2 ms per event in the local cloud process at
0.2 % steal), so compare runs made back to back."""

from __future__ import annotations

import os
from dataclasses import dataclass

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of `pid` (all its threads); 0.0 where /proc is not readable."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_ticks() -> tuple[int, int]:
    """(all CPU ticks, stolen ticks) of the machine since boot, from /proc/stat's first line."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(values[:8]), values[7] if len(values) > 7 else 0


@dataclass
class CpuSnapshot:
    processes: dict[str, float]
    ticks: tuple[int, int]

    @classmethod
    def take(cls, pids: dict[str, int]) -> CpuSnapshot:
        return cls({name: process_cpu_s(pid) for name, pid in pids.items()}, machine_ticks())


def report(before: CpuSnapshot, after: CpuSnapshot, events: int) -> list[str]:
    """Lines: CPU milliseconds per event per process, and the steal share over the interval."""
    lines = [
        f"  {name:18} {(after.processes[name] - spent) * 1000 / events:6.3f} ms CPU per event"
        for name, spent in before.processes.items()
    ]
    total = after.ticks[0] - before.ticks[0]
    stolen = after.ticks[1] - before.ticks[1]
    share = f"{100 * stolen / total:.1f} %" if total > 0 else "unknown"
    lines.append(f"  stolen by the hypervisor meanwhile: {share} of the machine's CPU time")
    return lines
