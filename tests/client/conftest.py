"""Fixtures: a scripted stub server, and `api`, which runs each test on Client and AsyncClient.

A test written once as `await api(lambda c: c.models.get("x"))` runs twice: with a blocking
Client (in a worker thread) and with an AsyncClient (awaited). `live` does the same against a
real FakeServer, fresh for each test. A module configures that server with
`FAKE_SERVER = {...}` (FakeServer keyword arguments) and the job pace with
`PROGRESSION = Progression...`, and the API flavours its `api` and `live` clients speak
with `APIS = ("textgen", "generativelanguage", "yandex")` (each test then runs once per
flavour; the default is textgen.v1 alone). The stub server answers every flavour's names; the
FakeServer of a flavoured test serves only that flavour's names, as the real service would.

A test whose call meets a method its flavour lacks ends there, and passes, if the client
raised errors.UnsupportedByApi without sending anything (the server recorded no call) and the
flavour's table in textgen.apis indeed lacks the method: in that flavour the test's subject is
"not offered", which is the behaviour under test. Any other failure fails the test.
For the AsyncClient the server runs on the test's own event loop: grpc.aio does not support
two event loops at once in one process, which is what a
background-thread server plus an asyncio client would be.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import textgen
from tests.client.stub_server import StubServer
from textgen import _routes, apis, errors
from textgen.testing.fake_server import FakeServer


class NotOffered(errors.UnsupportedByApi):
    """A flavour lacks the method a test called, and the client sent nothing (see above)."""


def offered_names(flavour: str) -> set[str]:
    """The method names the flavour's table offers: its methods and the methods of ours
    that its adapters stand in for."""
    api = apis.get(flavour)
    names = {method.canonical.rsplit("/", 1)[-1] for method in api.methods()}
    return names | {path.rsplit("/", 1)[-1] for path in _routes.ADAPTERS.get(flavour, {})}


class Api:
    """One client of either kind, with helpers that hide the await. `sent` counts the calls
    the server has recorded (to tell that a refused call sent nothing)."""

    def __init__(
        self,
        kind: str,
        target: str | None,
        *,
        sent: Callable[[], int] | None = None,
        **options: Any,
    ) -> None:
        self.kind = kind
        self.target = target
        self.options = options
        self.sent = sent
        self.client: Any = (textgen.Client if kind == "sync" else textgen.AsyncClient)(
            target, **options
        )
        self._others: list[Api] = []

    def _not_offered(self, error: errors.UnsupportedByApi, before: int | None) -> NotOffered:
        assert self.flavour != "textgen", f"textgen.v1 offers every method: {error}"
        assert error.api == self.flavour
        assert error.method not in offered_names(self.flavour), error
        if self.sent is not None:
            assert self.sent() == before, f"{error.method} was refused but something was sent"
        return NotOffered(error.method, error.api)

    @property
    def flavour(self) -> str:
        """The API flavour the client speaks."""
        return str(self.options.get("api", "textgen"))

    @property
    def is_async(self) -> bool:
        return self.kind == "async"

    async def __call__(self, fn: Callable[[Any], Any]) -> Any:
        """fn(client): run in a thread for Client, awaited for AsyncClient."""
        before = self.sent() if self.sent is not None else None
        try:
            if not self.is_async:
                return await asyncio.to_thread(fn, self.client)
            result = fn(self.client)
            return await result if inspect.isawaitable(result) else result
        except NotOffered:
            raise
        except errors.UnsupportedByApi as error:
            raise self._not_offered(error, before) from error

    async def items(self, fn: Callable[[Any], Any]) -> list[Any]:
        """Every item of the iterable or async iterable fn(client) returns."""
        before = self.sent() if self.sent is not None else None
        try:
            if not self.is_async:
                return await asyncio.to_thread(lambda: list(fn(self.client)))
            return [item async for item in fn(self.client)]
        except NotOffered:
            raise
        except errors.UnsupportedByApi as error:
            raise self._not_offered(error, before) from error

    def other(self, *, target: str | None = "", **options: Any) -> Api:
        """Another client of the same kind (and target unless given), closed with this one."""
        made = Api(
            self.kind,
            self.target if target == "" else target,
            sent=self.sent,
            **{**self.options, **options},
        )
        self._others.append(made)
        return made

    async def close(self) -> None:
        for other in self._others:
            await other.close()
        if self.is_async:
            await self.client.close()
        else:
            self.client.close()


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, stub: StubServer, flavour: str) -> AsyncIterator[Api]:
    made = Api(request.param, stub.target, sent=lambda: len(stub.received), timeout=10, api=flavour)
    yield made
    await made.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Which client the `live` test runs with."""
    return str(request.param)


@pytest.fixture
async def fake(request: pytest.FixtureRequest, kind: str) -> AsyncIterator[FakeServer]:
    """A fresh FakeServer from the module's FAKE_SERVER options and PROGRESSION, serving
    only the test's flavour when the test runs per flavour."""
    options = dict(getattr(request.module, "FAKE_SERVER", {}))
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "flavour" in callspec.params:
        options.setdefault("apis", (callspec.params["flavour"],))
    server = FakeServer(seed=0, **options)
    progression = getattr(request.module, "PROGRESSION", None)
    if progression is not None:
        server.progression = progression
    if kind == "async":
        async with server:
            yield server
    else:
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A test that ends on a method its flavour does not offer passes (see the module
    docstring); the method is kept in the report's user properties."""
    try:
        return (yield)
    except NotOffered as error:
        item.user_properties.append(("not_offered", error.method))
        return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "flavours(*names): the API flavours a test runs in, instead of its module's APIS"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a module's `api` and `live` tests once per flavour in its APIS (or the test's
    `flavours` mark, for a test of something only some flavours have)."""
    flavours = getattr(metafunc.module, "APIS", None)
    marker = metafunc.definition.get_closest_marker("flavours")
    if marker is not None:
        flavours = marker.args
    if flavours is not None and "flavour" in metafunc.fixturenames:
        metafunc.parametrize("flavour", flavours)


@pytest.fixture
def flavour() -> str:
    """The API flavour the `api` and `live` clients speak (a module's APIS parametrises it)."""
    return "textgen"


@pytest.fixture
async def live(kind: str, fake: FakeServer, flavour: str) -> AsyncIterator[Api]:
    """A client of the test's kind and flavour on its FakeServer."""
    made = Api(kind, fake.target, sent=lambda: len(fake.journal.calls()), timeout=20, api=flavour)
    yield made
    await made.close()


async def advance(live: Api, fake: FakeServer, seconds: float) -> None:
    """Move the fake's manual clock, from whichever side of the loop the server runs on."""
    if live.is_async:
        await fake.advance_async(seconds)
    else:
        await asyncio.to_thread(fake.advance, seconds)
