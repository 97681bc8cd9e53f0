"""pytest fixtures for textgen: a fresh FakeServer per test and channels to it.

Fixtures:

- `textgen_server`: a started `textgen.testing.FakeServer`, new for each test and stopped
  after it. It runs on a background thread, so it serves sync and async tests alike.
- `textgen_channel`: a `grpc.Channel` (sync) to `textgen_server`, closed after the test.
- `textgen_aio_channel`: a `grpc.aio.Channel` to `textgen_server` on the test's event loop
  (async tests; needs pytest-asyncio), closed after the test.

Configure the server with the `textgen_server` marker, whose keyword arguments go to
FakeServer::

    @pytest.mark.textgen_server(clock="manual", api_keys={"key": "alice"})
    def test_tuning(textgen_server, textgen_channel):
        stub = tuned_model_service_pb2_grpc.TunedModelServiceStub(textgen_channel)
        ...
        textgen_server.advance(3600)
        textgen_server.journal.assert_called("CreateTunedModel", times=1)

The plugin is registered under the `pytest11` entry point; without it, add
`pytest_plugins = ["textgen.testing.pytest_plugin"]` to a conftest.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from textgen.testing.fake_server import FakeServer, is_poller_wakeup

MARKER = "textgen_server"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): keyword arguments for the test's FakeServer"
    )


@pytest.fixture
def textgen_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fresh FakeServer for this test, on a background thread."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with FakeServer(**options) as server:
        yield server


@pytest.fixture
def textgen_channel(textgen_server: FakeServer) -> Iterator[grpc.Channel]:
    """A sync channel to textgen_server."""
    with textgen_server.channel() as channel:
        yield channel


@pytest.fixture
async def textgen_aio_channel(textgen_server: FakeServer) -> AsyncIterator[grpc.aio.Channel]:
    """A grpc.aio channel to textgen_server, on the test's loop."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if is_poller_wakeup(context):
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    channel = textgen_server.aio_channel()
    try:
        yield channel
    finally:
        await channel.close()
        loop.set_exception_handler(previous)
