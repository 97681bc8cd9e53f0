"""FakeServer: the real servicers over a FakeEngine, in-process, with a journal and faults.

From a sync test the server runs on an event loop in a background thread; from an async
test (`async with`) it runs on the test's own loop::

    with FakeServer(seed=0, clock="manual") as fake, fake.channel() as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        fake.script("GenerateText").fail(grpc.StatusCode.UNAVAILABLE, times=2)
        ...
        fake.advance(60)                        # tuning and batch jobs finish at once
        fake.journal.assert_called("GenerateText", times=3)
        fake.reset()                            # journal, scripts and resources cleared

    async with FakeServer(clock="manual") as fake, fake.aio_channel() as channel:
        ...
        await fake.advance_async(60)            # on your own loop, await the *_async forms

Options: `seed` makes ids (and the engine) reproducible; `clock` is "real", "manual" or any
Clock; `progression` sets how jobs advance (textgen.testing.Progression; by default a
job takes 3 clock seconds, `Progression.immediate()` finishes it at once); `api_keys` maps
API keys to principals (none: no key needed); `engine` replaces the default FakeEngine;
`apis` names the API flavours served (textgen.apis: all by default; `apis=("yandex",)`
answers only Yandex's names, as the real service would).
`limits` bounds what it stores and for how long (textgen.server.quotas.StorageLimits).
It also serves gRPC health checking and reflection when the `server` extra is installed.
`http_port` (0 for a free port, or `http=True`) also serves HTTP/JSON from the contract's
http rules (the `http` extra): `fake.http_url` is its base URL, for google-genai or curl.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import threading
from collections.abc import Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar

import grpc

from textgen.apis import ALL as ALL_APIS
from textgen.apis import chosen as chosen_apis
from textgen.server.app import Running, serve
from textgen.server.clock import Clock, ManualClock, RealClock
from textgen.server.engine import Engine
from textgen.server.lro.operations import Operations
from textgen.server.quotas import StorageLimits
from textgen.server.state import IdGenerator, ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.faults import Faults, Script, Step
from textgen.testing.journal import Journal
from textgen.testing.pacing import Progression, ProgressionPacer

HOST = "127.0.0.1"
# How long a sync caller waits for the server thread to start, stop or reset (seconds).
_THREAD_TIMEOUT = 30.0
# Health and reflection come with the `server` extra; without it the fake serves without them.
_SERVER_EXTRA = all(
    importlib.util.find_spec(module) is not None for module in ("grpc_health", "grpc_reflection")
)
T = TypeVar("T")


class FakeServer:
    """An in-process server for tests; see the module docstring."""

    def __init__(
        self,
        *,
        seed: int = 0,
        engine: Engine | None = None,
        api_keys: Mapping[str, str] | None = None,
        clock: Literal["real", "manual"] | Clock = "real",
        progression: Progression | None = None,
        host: str = HOST,
        port: int = 0,
        apis: Iterable[str] = ALL_APIS,
        limits: StorageLimits | None = None,
        http_port: int | None = None,
        http: bool = False,
    ) -> None:
        self.seed = seed
        # The API flavours served (textgen.apis), checked now rather than at start.
        self.apis: tuple[str, ...] = tuple(api.name for api in chosen_apis(apis))
        self.clock: Clock = _make_clock(clock)
        self.state = ServerState(
            engine=engine if engine is not None else FakeEngine(seed=seed),
            clock=self.clock,
            ids=IdGenerator(seed),
            api_keys=dict(api_keys or {}),
            limits=limits if limits is not None else StorageLimits(),
        )
        self.pacer = ProgressionPacer(self.clock, progression)
        self.journal = Journal()
        self.faults = Faults()
        self.operations = Operations(self.clock, self.state.stores.operations, self.pacer)
        self._host, self._port = host, port
        self._http_port = 0 if http and http_port is None else http_port
        self._running: Running | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- addresses and channels --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._running is None:
            raise RuntimeError("the FakeServer is not running: use `with` or `async with`")
        return int(self._running.port)

    @property
    def target(self) -> str:
        """The address to dial, such as "127.0.0.1:50123"."""
        return f"{self._host}:{self.port}"

    @property
    def http_url(self) -> str:
        """The base URL of the HTTP/JSON server, such as "http://127.0.0.1:50124"."""
        running = self._running
        if running is None or running.http is None:
            raise RuntimeError("no HTTP server: start the FakeServer with http_port= or http=True")
        return f"http://{self._host}:{running.http.port}"

    def channel(self) -> grpc.Channel:
        """A new insecure sync channel to the server (close it, or use it in `with`)."""
        return grpc.insecure_channel(self.target)

    def aio_channel(self) -> grpc.aio.Channel:
        """A new insecure grpc.aio channel to the server (on the calling loop)."""
        return grpc.aio.insecure_channel(self.target)

    # --- scripting, time and resets ------------------------------------------------------------

    def script(self, method: str, steps: tuple[Step, ...] | list[Step] = ()) -> Script:
        """The fault script of `method` ("GenerateText" or a full name); see `faults`."""
        return self.faults.script(method, steps)

    @property
    def progression(self) -> Progression:
        """How new tuning and batch jobs advance."""
        return self.pacer.progression

    @progression.setter
    def progression(self, value: Progression) -> None:
        self.pacer.progression = value

    def advance(self, seconds: float) -> None:
        """Move the manual clock forward, running every job it wakes (sync, thread-safe)."""
        self._call(self.advance_async(seconds))

    async def advance_async(self, seconds: float) -> None:
        """advance() on the server's loop: for `async with FakeServer()`."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs FakeServer(clock='manual')")
        await self.clock.advance(seconds)

    def reset(self, seed: int | None = None) -> None:
        """Clear the journal, scripts, operations and resources; reseed ids (sync)."""
        self._call(self.reset_async(seed))

    async def reset_async(self, seed: int | None = None) -> None:
        """reset() on the server's loop: for `async with FakeServer()`."""
        self.journal.clear()
        self.faults.clear()
        await self._drop_operations()
        await self.state.reset(self.seed if seed is None else seed)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Start on a background thread's loop (for sync code)."""
        if self._running is not None:
            raise RuntimeError("the FakeServer is already running")
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(ignore_poller_wakeups)
        thread = threading.Thread(target=loop.run_forever, name="textgen-fake-server", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self.start_async())
        except BaseException:
            self._close_thread()
            raise
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop a server started with start() and end its thread."""
        if self._thread is None:
            if self._running is not None:
                raise RuntimeError("this FakeServer runs on your event loop: await stop_async()")
            return
        try:
            self._call(self.stop_async(grace))
            self._call(_cancel_other_tasks())
        finally:
            self._close_thread()

    async def start_async(self) -> FakeServer:
        """Start on the running loop (for async code)."""
        self._running = await serve(
            self.state,
            operations=self.operations,
            host=self._host,
            port=self._port,
            policies=(self.journal, self.faults),
            health=_SERVER_EXTRA,
            reflection=_SERVER_EXTRA,
            apis=self.apis,
            http_port=self._http_port,
        )
        return self

    async def stop_async(self, grace: float | None = None) -> None:
        """Stop a server started with start_async(); unfinished jobs are cancelled."""
        running, self._running = self._running, None
        if running is not None:
            await self._drop_operations()
            await running.stop(grace)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeServer:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_async()

    # --- internals -----------------------------------------------------------------------------

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        # Run `work` on the server thread's loop and wait for it.
        loop = self._loop
        if loop is None or self._thread is None:
            work.close()
            raise RuntimeError(
                "this FakeServer runs on your event loop: await the *_async method instead"
            )
        if threading.current_thread() is self._thread:
            work.close()
            raise RuntimeError("a blocking FakeServer method was called on its own loop")
        return asyncio.run_coroutine_threadsafe(work, loop).result(_THREAD_TIMEOUT)

    def _close_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            self._loop = self._thread = None
            return
        # Async generators are closed on the server's own loop: the calling thread may be
        # running a loop of its own (a sync `with FakeServer()` inside async code).
        with contextlib.suppress(Exception):
            self._call(loop.shutdown_asyncgens())
        self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_THREAD_TIMEOUT)
        loop.close()

    async def _drop_operations(self) -> None:
        # Cancel unfinished jobs, then forget every operation.
        for stored in await self.state.stores.operations.list():
            name, owner = stored.record.name, stored.record.owner
            if not stored.record.operation.done:
                await self.operations.cancel(name, owner)
            await self.operations.delete(name, owner)


async def _cancel_other_tasks() -> None:
    # Jobs and server internals still pending on the server thread's loop.
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _make_clock(clock: Literal["real", "manual"] | Clock) -> Clock:
    if clock == "real":
        return RealClock()
    if clock == "manual":
        return ManualClock()
    if isinstance(clock, str):
        raise ValueError(f"clock must be 'real', 'manual' or a Clock, not {clock!r}")
    return clock


def ignore_poller_wakeups(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A loop exception handler that drops grpc.aio's benign poller wake-up races.

    With grpc.aio on two loops at once (the server's thread and a test's own loop), both
    watch one wake-up socket; the loop that finds it already drained logs a BlockingIOError.
    The events themselves are still delivered, so only that message is dropped.
    """
    if not _is_poller_wakeup(context):
        loop.default_exception_handler(context)


def _is_poller_wakeup(context: dict[str, Any]) -> bool:
    """Whether a loop exception context is grpc.aio's benign poller wake-up race."""
    return isinstance(context.get("exception"), BlockingIOError) and "PollerCompletionQueue" in str(
        context.get("handle", "")
    )
