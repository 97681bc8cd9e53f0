"""Servers on a durable store, run in this process for the replica and shutdown tests.

Each server started here has its own connection pool, listening connection, operation store
and job workers, exactly as separate processes would; only the database connects them. The
engines hold their calls at a gate the test opens, so what runs when is decided by the test,
not by timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from google.longrunning import operations_pb2
from google.longrunning import operations_pb2_grpc as operations_grpc
from google.protobuf import duration_pb2
from textgen.v1 import model_pb2

from textgen.server.app import Running, serve
from textgen.server.engine import GenerationInput, GenerationOutput, TuningEvent, TuningParams
from textgen.server.engine_tuning import TuningProgress, TuningResult
from textgen.server.jobs.durable import DurableJobs
from textgen.server.state import ServerState
from textgen.testing.fake_engine import FakeEngine

T = TypeVar("T")
MODEL = "models/gemini-1.0-pro-001"
# Far longer than any asyncio timeout of the tests: a waiter woken before it was woken by
# something other than the store's fallback read.
LONG = 300.0
# How long a step that should be prompt may take before the test fails (not a measurement).
PROMPT = 10.0


@dataclass
class Gate:
    """Where the servers' engines hold their calls while the test keeps it shut."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    held: dict[str, int] = field(default_factory=dict)  # replica -> calls waiting
    prompts: list[tuple[str, str]] = field(default_factory=list)  # (replica, prompt text)
    steps: list[tuple[str, int]] = field(default_factory=list)  # (replica, tuning step) passed
    # The tasks that came to the gate, weakly: a test may check that one was collected.
    tasks: list[weakref.ref[asyncio.Task[object]]] = field(default_factory=list)

    # Calls a shut gate still lets through (see let), and what wakes held calls to use them.
    budget: int = 0
    _moved: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.opened.set()

    def let(self, count: int) -> None:
        """Let `count` more calls through while the gate stays shut."""
        self.budget += count
        self._moved.set()
        self._moved = asyncio.Event()

    async def through(self, replica: str, prompt: str | None = None) -> None:
        if prompt is not None:
            self.prompts.append((replica, prompt))
        task = asyncio.current_task()
        if task is not None and all(ref() is not task for ref in self.tasks):
            self.tasks.append(weakref.ref(task))
        self.held[replica] = self.held.get(replica, 0) + 1
        try:
            while not self.opened.is_set():
                if self.budget > 0:
                    self.budget -= 1
                    return
                opened = asyncio.ensure_future(self.opened.wait())
                moved = asyncio.ensure_future(self._moved.wait())
                try:
                    await asyncio.wait({opened, moved}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    opened.cancel()
                    moved.cancel()
        finally:
            self.held[replica] -= 1


class GatedEngine(FakeEngine):
    """The fake engine, each generation and each tuning run's end passing the gate first;
    with `steps`, every tuning step passes it too."""

    def __init__(self, gate: Gate, replica: str, *, steps: bool = False) -> None:
        super().__init__(seed=0)
        self.gate, self.replica, self.gate_steps = gate, replica, steps

    async def generate(self, request: GenerationInput) -> GenerationOutput:
        await self.gate.through(self.replica, request.prompt_text())
        return await super().generate(request)

    async def tune(
        self,
        base_model: model_pb2.Model,
        examples: Sequence[tuple[str, str]],
        params: TuningParams,
    ) -> AsyncIterator[TuningEvent]:
        events = super().tune(base_model, examples, params)
        async for event in events:
            if isinstance(event, TuningResult) or self.gate_steps:
                await self.gate.through(self.replica)
            if isinstance(event, TuningProgress):
                self.gate.steps.append((self.replica, event.step))
            yield event


async def start_server(url: str, gate: Gate, replica: str, *, steps: bool = False) -> Running:
    """A server named `replica` on the store at `url`, its engine held at `gate`."""
    state = ServerState(engine=GatedEngine(gate, replica, steps=steps))
    return await serve(state, store=url, health=False, reflection=False)


@contextlib.asynccontextmanager
async def replicas(
    url: str, gate: Gate, count: int, *, steps: bool = False
) -> AsyncIterator[list[Running]]:
    """`count` servers A, B, ... on the store at `url`; the gate is opened and each stopped
    at the end."""
    started: list[Running] = []
    try:
        for number in range(count):
            started.append(await start_server(url, gate, "ABC"[number], steps=steps))
        yield started
    finally:
        gate.opened.set()
        for running in started:
            await running.stop(None)


def target(running: Running) -> str:
    return f"127.0.0.1:{running.port}"


@contextlib.asynccontextmanager
async def operations_stub(running: Running) -> AsyncIterator[operations_grpc.OperationsStub]:
    async with grpc.aio.insecure_channel(target(running)) as channel:
        yield operations_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]


async def until(check: Callable[[], object], timeout: float = 60.0) -> None:
    """Wait for a condition the servers reach on their own (not a timing assertion)."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def until_async(
    read: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 60.0
) -> T:
    """Read until the reading passes `check` (the servers get there on their own)."""

    async def poll() -> T:
        while not check(found := await read()):
            await asyncio.sleep(0.01)
        return found

    return await asyncio.wait_for(poll(), timeout)


def waiting_on(running: Running) -> int:
    """How many WaitOperation calls wait through the store's watch on this server."""
    watch = getattr(running.state.stores.operations, "done_watch")  # noqa: B009
    count: int = watch.waiting()
    return count


def long_wait(name: str) -> operations_pb2.WaitOperationRequest:
    return operations_pb2.WaitOperationRequest(
        name=name, timeout=duration_pb2.Duration(seconds=int(LONG))
    )


def durable(running: Running) -> DurableJobs:
    jobs = running.state.durable
    assert isinstance(jobs, DurableJobs)
    return jobs
