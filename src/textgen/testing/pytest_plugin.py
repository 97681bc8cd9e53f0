"""pytest fixtures for textgen: a fresh FakeServer per test and channels to it.

Fixtures:

- `textgen_server`: a started `textgen.testing.FakeServer`, new for each test and stopped
  after it, on a background thread: for sync tests.
- `textgen_channel`: a `grpc.Channel` (sync) to `textgen_server`, closed after the test.
- `textgen_aio_server`: the same for async tests (needs pytest-asyncio), running on the
  test's own event loop; use its `*_async` methods (`await server.advance_async(60)`).
- `textgen_aio_channel`: a `grpc.aio.Channel` to `textgen_aio_server`, closed after the test.

The async pair shares the test's loop because grpc.aio does not support two event loops at
once in one process: an asyncio channel to a server on a background thread's loop can fail
now and then with INTERNAL "Internal error from Core".

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

from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from textgen.testing.fake_server import FakeServer

MARKER = "textgen_server"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): keyword arguments for the test's FakeServer"
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    return dict(marker.kwargs) if marker is not None else {}


@pytest.fixture
def textgen_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fresh FakeServer for this test, on a background thread."""
    with FakeServer(**_options(request)) as server:
        yield server


@pytest.fixture
async def textgen_aio_server(request: pytest.FixtureRequest) -> AsyncIterator[FakeServer]:
    """A fresh FakeServer for this async test, on the test's own event loop."""
    async with FakeServer(**_options(request)) as server:
        yield server


@pytest.fixture
def textgen_channel(textgen_server: FakeServer) -> Iterator[grpc.Channel]:
    """A sync channel to textgen_server."""
    with textgen_server.channel() as channel:
        yield channel


@pytest.fixture
async def textgen_aio_channel(
    textgen_aio_server: FakeServer,
) -> AsyncIterator[grpc.aio.Channel]:
    """A grpc.aio channel to textgen_aio_server, on the test's loop."""
    async with textgen_aio_server.aio_channel() as channel:
        yield channel
