"""The local cloud's processes (issue 9, finding 11): killed with SIGKILL, it takes its broker
with it, so `make dev` starts again on the same ports; a taken port is one line and exit code 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.cloud_process import output_of, serve
from infra.local.kafka_broker import TansuBroker
from infra.local.net import free_port
from tests.e2e.conftest import wait_healthy
from tests.support.local_cli import clean_environment, run_local
from tests.support.waiting import wait_for


def children_of(pid: int) -> set[int]:
    """Direct children of `pid` (Linux /proc: the parent pid is the 4th field of /proc/N/stat)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in {"Z", "X"}  # a zombie has died; only its parent has not reaped it


@pytest.fixture
def fixed_ports() -> dict[str, str]:
    return {"MP_MOTO_PORT": str(free_port()), "MP_KAFKA_PORT": str(free_port())}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signals are Linux's")
def test_sigkill_takes_the_broker_along_and_make_dev_starts_again_on_the_same_ports(
    fixed_ports: dict[str, str],
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as first_output:
        first = serve(port, first_output, **fixed_ports)
        broker_pids: set[int] = set()
        try:
            wait_healthy(first, url, output_of(first_output))
            broker_pids = children_of(first.pid)
            assert broker_pids, "the local cloud runs Tansu as a child process"
            # WHEN the local cloud is killed, not stopped
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            # THEN its broker ends with it …
            wait_for(lambda: not any(alive(pid) for pid in broker_pids), timeout=10)
        finally:  # never leave a process behind, even when the test fails
            if first.poll() is None:
                first.kill()
                first.wait(timeout=10)
            for pid in broker_pids | children_of(first.pid):
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
    # … and the next `make dev` starts on the very same ports
    with tempfile.TemporaryFile() as second_output:
        second = serve(port, second_output, **fixed_ports)
        try:
            wait_healthy(second, url, output_of(second_output))
        finally:
            second.terminate()
            second.wait(timeout=20)
        assert second.returncode == 0, output_of(second_output)()


@pytest.fixture
def listener() -> Iterator[int]:
    """Something listening on a port (as another program would)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def run_serve(port: int, **env: str) -> subprocess.CompletedProcess[str]:
    environment = clean_environment(**({"MP_MOTO_PORT": "0", "MP_KAFKA_PORT": "0"} | env))
    return run_local("serve", "--port", str(port), env=environment, timeout=60)


def assert_one_line_naming(result: subprocess.CompletedProcess[str], port: int, variable: str) -> None:
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == 2, lines
    assert len(lines) == 1, lines
    assert str(port) in lines[0] and f"{variable}=" in lines[0]


def test_a_taken_gateway_port_is_one_line_and_exit_2(listener: int) -> None:
    assert_one_line_naming(run_serve(listener), listener, "PORT")


def test_a_taken_moto_port_is_one_line_and_exit_2(listener: int) -> None:
    assert_one_line_naming(run_serve(free_port(), MP_MOTO_PORT=str(listener)), listener, "MP_MOTO_PORT")


def test_kafka_port_held_by_an_orphaned_broker_is_one_line_and_exit_2() -> None:
    orphan = TansuBroker(port=0)  # a broker nobody stopped, as a killed local cloud left it before
    orphan.start()
    try:
        result = run_serve(free_port(), MP_KAFKA_PORT=str(orphan.port))
    finally:
        orphan.stop()
    assert_one_line_naming(result, orphan.port, "MP_KAFKA_PORT")
