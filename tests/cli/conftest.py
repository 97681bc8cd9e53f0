"""Fixtures: a FakeServer with fast jobs, and `cli`, which runs `textgen` against it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from textgen.cli import main
from textgen.testing import FakeServer
from textgen.testing.pacing import Progression

# Tuning and batch jobs take this long (real clock), so their progress bars move a little.
JOB_SECONDS = 0.3


@dataclass(frozen=True)
class Result:
    """What one command did: its exit status and what it printed."""

    status: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as one JSON document."""
        return json.loads(self.out)

    def error(self) -> Any:
        """stderr as the JSON error of --json mode."""
        return json.loads(self.err)["error"]


class Cli(Protocol):
    def __call__(self, *argv: str, target: bool = True) -> Result: ...


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TEXTGEN_ENDPOINT", "TEXTGEN_EMULATOR_HOST", "TEXTGEN_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(seed=0, progression=Progression.after_duration(JOB_SECONDS)) as server:
        yield server


@pytest.fixture
def cli(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*argv: str, target: bool = True) -> Result:
        capsys.readouterr()
        try:
            status = main(["--target", fake.target, *argv] if target else list(argv))
        except SystemExit as exit:  # argparse: usage errors, --help
            status = exit.code if isinstance(exit.code, int) else 2
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run
