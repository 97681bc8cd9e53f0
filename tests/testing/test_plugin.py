"""The pytest plugin's fixtures and marker."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import cast

import grpc
import pytest
from textgen.v1 import model_service_pb2, model_service_pb2_grpc

from tests.testing import requests
from textgen.server.clock import ManualClock
from textgen.testing.fake_server import FakeServer


def test_sync_channel(textgen_server: FakeServer, textgen_channel: grpc.Channel) -> None:
    stub = model_service_pb2_grpc.ModelServiceStub(textgen_channel)
    assert stub.GenerateText(requests.generate_text()).candidates
    textgen_server.journal.assert_called("GenerateText", times=1)


async def test_aio_channel(
    textgen_aio_server: FakeServer, textgen_aio_channel: grpc.aio.Channel
) -> None:
    # mypy-protobuf types a stub by its class, not by its channel: on a grpc.aio channel it is
    # the AsyncStub.
    stub = cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(textgen_aio_channel),
    )
    textgen_aio_server.script("GetModel").fail(grpc.StatusCode.UNAVAILABLE)
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await stub.GetModel(request)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert (await stub.GetModel(request)).name == requests.TEXT_MODEL


@pytest.mark.textgen_server(clock="manual", seed=5, api_keys={"key": "alice"})
def test_marker_configures_the_server(textgen_server: FakeServer) -> None:
    assert isinstance(textgen_server.clock, ManualClock)
    assert textgen_server.seed == 5
    assert textgen_server.state.api_keys == {"key": "alice"}


def test_each_test_gets_a_fresh_server(textgen_server: FakeServer) -> None:
    assert textgen_server.journal.calls() == []


@pytest.mark.textgen_server(clock="manual")
async def test_aio_server_runs_on_the_test_loop(
    textgen_aio_server: FakeServer, textgen_aio_channel: grpc.aio.Channel
) -> None:
    assert isinstance(textgen_aio_server.clock, ManualClock)
    await textgen_aio_server.advance_async(1.0)  # the async form works on this loop
    stub = cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(textgen_aio_channel),
    )
    request = model_service_pb2.GetModelRequest(name=requests.TEXT_MODEL)
    assert (await stub.GetModel(request)).name == requests.TEXT_MODEL
    textgen_aio_server.journal.assert_called("GetModel", times=1)


def test_readme_async_example_passes_in_strict_mode(tmp_path: Path) -> None:
    """The README's async fixture example, run as an outside suite in pytest-asyncio's default
    strict mode (the plugin is loaded by its entry point, as in any project that installs us)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (example,) = [
        block
        for block in re.findall(r"^```py\n(.*?)^```", readme, flags=re.S | re.M)
        if block.startswith("# test_generation.py")
    ]
    (tmp_path / "test_generation.py").write_text(example)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
