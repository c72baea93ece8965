"""Child processes of the local cloud end with it — even when it is killed with SIGKILL.

A SIGKILL leaves no chance to stop anything, so the kernel must do it: on Linux each child asks
for a parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGKILL)`) between fork and exec. Elsewhere
(macOS) no such call exists; there a killed local cloud can still leave its broker behind, and the
next start reports the taken port in one line (`net.PortInUse`).

Linux sends the signal when the *thread* that started the child ends: start children from a thread
that lives as long as the cloud (the main thread, as `python -m infra.local serve` does).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_this_process() -> Callable[[], None] | None:
    """A `preexec_fn` giving the child SIGKILL when this process dies (None where unsupported)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only makes the call
    parent = os.getpid()

    def preexec() -> None:
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return preexec


def stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, up to `grace_s` for a clean exit, then SIGKILL (and reap it)."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
