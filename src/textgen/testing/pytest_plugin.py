"""pytest fixtures for textgen: a fresh FakeServer per test and channels to it.

Fixtures:

- `textgen_server`: a started `textgen.testing.FakeServer`, new for each test and stopped
  after it, on a background thread: for sync tests.
- `textgen_channel`: a `grpc.Channel` (sync) to `textgen_server`, closed after the test.
- `textgen_aio_server`: the same for async tests, running on the test's own event loop; use
  its `*_async` methods (`await server.advance_async(60)`).
- `textgen_aio_channel`: a `grpc.aio.Channel` to `textgen_aio_server`, closed after the test.

The async pair needs pytest-asyncio. It works in its default strict mode, where each async
test carries `@pytest.mark.asyncio`, and in auto mode (`asyncio_mode = "auto"`), where none is
needed. The test must run on a function-scoped loop (the default), because the server shares
the test's loop: grpc.aio does not support two event loops at once in one process.

Configure the server with the `textgen_server` marker, whose keyword arguments go to
FakeServer::

    @pytest.mark.textgen_server(clock="manual", api_keys={"key": "alice"})
    def test_tuning(textgen_server, textgen_channel):
        stub = tuned_model_service_pb2_grpc.TunedModelServiceStub(textgen_channel)
        ...
        textgen_server.advance(3600)
        textgen_server.journal.assert_called("CreateTunedModel", times=1)

The plugin is registered under the `pytest11` entry point; without it, add
`pytest_plugins = ["textgen.testing.pytest_plugin"]` to a conftest.py. Loading it imports
only pytest: the server is imported by the first fixture that needs it, and anything missing
fails that test with what to install, never the pytest run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    import grpc

    from textgen.testing.fake_server import FakeServer

MARKER = "textgen_server"
F = TypeVar("F", bound=Callable[..., Any])


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line(
        "markers", f"{MARKER}(**options): keyword arguments for the test's FakeServer"
    )


def _fake_server(request: pytest.FixtureRequest) -> FakeServer:
    """A FakeServer configured by the test's marker; what cannot be imported fails the test."""
    try:
        from textgen.testing.fake_server import FakeServer  # noqa: PLC0415
    except ImportError as error:
        from textgen._extras import missing_extra  # noqa: PLC0415

        missing = missing_extra(error, "the textgen pytest fixtures")
        pytest.fail(str(missing or f"the textgen pytest fixtures cannot start: {error}"))
    marker = request.node.get_closest_marker(MARKER)
    return FakeServer(**(marker.kwargs if marker is not None else {}))


def _async_fixture(function: F) -> F:
    """`function` as an async fixture that pytest-asyncio runs in strict and auto mode alike."""
    try:
        import pytest_asyncio  # noqa: PLC0415
    except ImportError:
        name = function.__name__

        def needs_pytest_asyncio() -> None:
            pytest.fail(
                f"{name} is an async fixture and needs pytest-asyncio: "
                "pip install pytest-asyncio, then mark the test with @pytest.mark.asyncio"
            )

        needs_pytest_asyncio.__doc__ = function.__doc__
        return cast("F", pytest.fixture(name=name)(needs_pytest_asyncio))
    try:
        return cast("F", pytest_asyncio.fixture(function, loop_scope="function"))
    except TypeError:  # pytest-asyncio before 0.24 has no loop_scope
        return cast("F", pytest_asyncio.fixture(function))


@pytest.fixture
def textgen_server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    """A fresh FakeServer for this test, on a background thread."""
    with _fake_server(request) as server:
        yield server


@_async_fixture
async def textgen_aio_server(request: pytest.FixtureRequest) -> AsyncIterator[FakeServer]:
    """A fresh FakeServer for this async test, on the test's own event loop."""
    async with _fake_server(request) as server:
        yield server


@pytest.fixture
def textgen_channel(textgen_server: FakeServer) -> Iterator[grpc.Channel]:
    """A sync channel to textgen_server."""
    with textgen_server.channel() as channel:
        yield channel


@_async_fixture
async def textgen_aio_channel(
    textgen_aio_server: FakeServer,
) -> AsyncIterator[grpc.aio.Channel]:
    """A grpc.aio channel to textgen_aio_server, on the test's loop."""
    async with textgen_aio_server.aio_channel() as channel:
        yield channel
