"""Start `python -m textgen serve --port 0` as a subprocess and find its address."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from textgen.cli.serve import LISTENING

_ADDRESS = re.compile(rf"^{re.escape(LISTENING)} (?P<target>\S+)$")
_START_TIMEOUT = 30.0


@dataclass
class Emulator:
    """A running emulator process and the address it printed."""

    process: subprocess.Popen[str]
    target: str

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `signum` and return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)


def start_emulator(*args: str) -> Emulator:
    """Run the emulator with `args` and wait for its listening line."""
    command = [sys.executable, "-m", "textgen", "serve", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], _START_TIMEOUT)
    line = process.stdout.readline().strip() if ready else ""
    match = _ADDRESS.match(line)
    if match is None:
        process.kill()
        _, errors = process.communicate()
        pytest.fail(f"the emulator did not start: {line!r}\n{errors}")
    return Emulator(process, match.group("target"))


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with chosen arguments; each is stopped after the test."""
    started: list[Emulator] = []

    def start(*args: str) -> Emulator:
        emulator = start_emulator(*args)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        if emulator.process.poll() is None:
            emulator.process.kill()
        emulator.process.communicate()


@pytest.fixture
def emulator(emulator_factory: Callable[..., Emulator]) -> Emulator:
    """An emulator whose jobs finish at once."""
    return emulator_factory("--progression", "immediate")
