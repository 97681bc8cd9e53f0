"""A Node.js client built from the .proto files (grpc-js + proto-loader) against the emulator."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator.conftest import Emulator

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "interop" / "node" / "client.js"
PROTODEPS = ROOT / ".build" / "protodeps"
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"
NODE = shutil.which("node")


@pytest.fixture
def staged_protos() -> Path:
    """The googleapis protos the client loads; staged as `make protodeps` does if missing."""
    if not (PROTODEPS / "google" / "longrunning" / "operations.proto").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "protodeps.py"), str(PROTODEPS)], check=True
        )
    return PROTODEPS


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_node_client_generates_tunes_and_batches(emulator: Emulator, staged_protos: Path) -> None:
    if not (NODE_MODULES / "@grpc" / "grpc-js").is_dir():
        pytest.fail(f"@grpc/grpc-js is missing: run `npm install --prefix {NODE_MODULES.parent}`")
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(CLIENT), emulator.target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok GenerateText: ")
    assert lines[1] == "ok CreateTunedModel: tunedModels/node-interop ACTIVE"
    assert lines[2].startswith("ok Completion: 3 rows in datasets/")
    assert lines[-1] == "interop ok"
    assert emulator.stop(signal.SIGTERM) == 0
