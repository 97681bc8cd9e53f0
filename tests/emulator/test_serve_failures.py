"""`textgen serve` fails in one line for an address it cannot use, and stops when its reader
has gone away."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.emulator.conftest import Emulator


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "textgen", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_serve("--host", "127.0.0.1", "--port", str(port)))
    assert line == (
        f"textgen serve: cannot listen on 127.0.0.1:{port}: the port is in use "
        "(pick another with --port, or 0 for any free port)"
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        # TEST-NET-1 (RFC 5737) is never assigned to this machine.
        ("192.0.2.1", "the host is not an address of this machine"),
        ("no-such-host.invalid", "the host name does not resolve"),
    ],
)
def test_a_host_it_cannot_bind_is_one_line(host: str, reason: str) -> None:
    line = _one_line(_serve("--host", host, "--port", "0"))
    assert line.startswith(f"textgen serve: cannot listen on {host}:0: {reason}")


def test_it_stops_when_its_stderr_reader_is_gone(
    emulator_factory: Callable[..., Emulator],
) -> None:
    """With stderr closed by its reader, the stop message cannot be written; it must still stop
    at once rather than hang (it used to spin at full CPU on grpcio 1.66.2)."""
    emulator = emulator_factory()
    assert emulator.process.stderr is not None
    emulator.process.stderr.close()
    started = time.monotonic()
    assert emulator.stop(signal.SIGTERM, timeout=20) == 0
    assert time.monotonic() - started < 10
