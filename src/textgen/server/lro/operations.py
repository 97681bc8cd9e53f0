"""Long-running operations: one store for every service, lifecycle, cancel and waiting.

Job runners (tuning, batch) create an operation, start their work with `start`, update its
metadata as they go, mark each stage boundary with `pause`, and finish with `complete` or
`fail`. Servicers read operations with the caller's principal: another principal's
operation answers NOT_FOUND, as a missing one does.

The protos live in an `OperationStore` (textgen.server.storage; in memory by default), and
every change to one is a compare-and-set there. What cannot be stored (the worker task, the
event that wakes waiters) lives beside it here, only while the operation runs: once it is
done, only its stored proto is left. Waiting is event driven: a waiter awaits the running
operation's `done` event, nothing polls; a wait that starts after the end reads the store.

An operation belongs to the API flavour of the call that created it (textgen.apis;
`textgen` for our own paths): its metadata and response are packed with that flavour's type
URLs, so a client of that API can unpack them, and the store keeps the flavour for the
updates that come later.

A finished operation is kept for `retention` seconds of the server clock after it ended
(AIP-151 lets a service forget finished operations); after that it answers NOT_FOUND and is
swept from the store. `shutdown` (a server stopping) answers every WaitOperation at once
with UNAVAILABLE, so its caller retries on another server, and stops each running job at its
next stage boundary (the operation then ends UNAVAILABLE, not CANCELLED; on a durable store
it stays running, for the next server to resume, as `release` leaves it).

On a store shared by replicas, a cancel may be stored by a replica that does not run the
work. The replica that runs it stops it as its own cancel would (`stop_if_cancelled`, called
by the durable job runner when it learns of the cancel), and a job also learns of it from
`progress`, which refuses to change a finished operation.

How jobs move between stages is the pacer's business (textgen.server.lro.pacing): in
production `NoPacing` never holds a job and a read never waits; the emulator's test pacer
(textgen.testing.pacing) is plugged in the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2

from textgen.server.clock import Clock
from textgen.server.lro.outcomes import (
    cancelled_status,
    ended_early,
    pack,
    shutting_down,
    stopped_status,
)
from textgen.server.lro.pacing import NoPacing, Pacer
from textgen.server.lro.watching import wait_elsewhere
from textgen.server.names import OPERATION_TYPE
from textgen.server.quotas import DEFAULT_OPERATION_RETENTION
from textgen.server.rpc.errors import ServiceError, already_exists, not_found
from textgen.server.rpc.routing import current_api
from textgen.server.storage import (
    MemoryOperationStore,
    OperationStore,
    StoredOperation,
    Versioned,
    modify,
)

Operation = operations_pb2.Operation
# What a runner does when its work is cancelled (see Operations.attach).
OnCancel = Callable[[], Awaitable[None]]

_LOG = logging.getLogger(__name__)


class _Live:
    # The parts of an operation that only exist while this process runs it, dropped (with
    # the task and, through it, the job) when the operation is done.
    __slots__ = ("done", "forgotten", "on_cancel", "released", "task", "waiters")

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.on_cancel: OnCancel | None = None
        self.forgotten = False  # deleted while the work goes on
        self.released = False  # handed back to the store, to be resumed (see release)
        self.waiters = 0  # WaitOperation calls waiting on `done`


class Operations:
    """Every long-running operation of a server, and the work behind each."""

    def __init__(
        self,
        clock: Clock,
        store: OperationStore | None = None,
        pacer: Pacer | None = None,
        *,
        retention: float = DEFAULT_OPERATION_RETENTION,
    ) -> None:
        self.clock = clock
        self._store: OperationStore = store if store is not None else MemoryOperationStore()
        self._live: dict[str, _Live] = {}
        self.pacer: Pacer = pacer if pacer is not None else NoPacing()
        # Seconds a finished operation is kept (see the module docstring).
        self.retention = retention
        self._swept = clock.now()
        # Set by shutdown(): waiters answer UNAVAILABLE and jobs stop at their next stage.
        self._closing = asyncio.Event()
        # On a durable store a job stopped by shutdown stays running in the store, to be
        # resumed (textgen.server.jobs.resume), instead of ending UNAVAILABLE.
        self.resumes_jobs = False

    # --- lifecycle, for job runners ------------------------------------------------------

    async def create(
        self,
        name: str,
        owner: str,
        metadata: Message,
        *,
        api: str | None = None,
        description: str = "",
    ) -> Operation:
        """A new, not yet done operation of flavour `api` (None: the flavour of the call
        being served), described by `description`; ALREADY_EXISTS when the name is taken.
        The store records the server clock's time as its creation and modification times."""
        api = current_api() if api is None else api
        operation = Operation(name=name, metadata=pack(metadata, api), done=False)
        now = self.clock.now()
        await self._sweep(now)
        stored = StoredOperation(operation, owner, api, now, now, description)
        if not await self._store.create(stored):
            raise already_exists(OPERATION_TYPE, name)
        self._live[name] = _Live()
        return operation

    async def update_metadata(self, name: str, metadata: Message) -> bool:
        """Replace the metadata; False when the operation is gone (deleted)."""

        def change(stored: StoredOperation) -> StoredOperation:
            stored.operation.metadata.CopyFrom(pack(metadata, stored.api))
            return stored._replace(modified_at=now)

        now = self.clock.now()

        return await modify(self._store, name, change) is not None

    async def progress(self, name: str, metadata: Message) -> bool:
        """Replace the metadata of a running operation, as its job reports a step; False
        when it is gone (deleted: the work goes on). When it ended meanwhile (a cancel
        through another replica of a shared store), nothing changes and CancelledError is
        raised: the job stops at this step as a cancel here would have stopped it."""
        ended = False

        def change(stored: StoredOperation) -> StoredOperation | None:
            nonlocal ended
            ended = stored.operation.done
            if ended:
                return None
            stored.operation.metadata.CopyFrom(pack(metadata, stored.api))
            return stored._replace(modified_at=now)

        now = self.clock.now()
        written = await modify(self._store, name, change)
        if ended:
            raise asyncio.CancelledError
        return written is not None

    async def complete(self, name: str, response: Message) -> bool:
        """Mark the operation done with a response; False when it is gone or already done."""
        return await self._finish(name, response=response)

    async def fail(self, name: str, status: status_pb2.Status) -> bool:
        """Mark the operation done with an error; False when it is gone or already done."""
        return await self._finish(name, error=status)

    def attach(
        self,
        name: str,
        task: asyncio.Task[None],
        on_cancel: OnCancel | None = None,
    ) -> None:
        """Record the task doing the operation's work, so cancel can stop it.

        `on_cancel` is awaited once when the work is cancelled, before the operation is
        marked done, even if the task was cancelled before it started: the place for a
        runner to mark its resources (a tuned model FAILED, a batch CANCELED).
        """
        live = self._live.setdefault(name, _Live())
        live.task = task
        live.on_cancel = on_cancel
        task.add_done_callback(lambda _: self._task_ended(name, live))
        self.pacer.begin(name, task)

    def start(
        self,
        name: str,
        work: Coroutine[Any, Any, None],
        on_cancel: OnCancel | None = None,
    ) -> asyncio.Task[None]:
        """Run `work` as the operation's task (on the running loop) and attach it.

        An exception the work lets escape fails the operation with INTERNAL; cancellation
        (from `cancel` or a server shutdown) ends it with CANCELLED.
        """
        task = asyncio.get_running_loop().create_task(self._guard(name, work))
        # A task cancelled before its first step never enters `work`: close it then, so it
        # is not reported as never awaited (closing a finished coroutine does nothing).
        task.add_done_callback(lambda _: work.close())
        self.attach(name, task, on_cancel)
        return task

    async def pause(self, name: str, stages: int) -> None:
        """A boundary between two of the `stages` stages of the operation's job: the pacer
        may hold the job here (in production it never does). Once the server is shutting
        down, the job stops here (its task is cancelled)."""
        if self._closing.is_set():
            raise asyncio.CancelledError
        await self.pacer.stage(name, stages)
        if self._closing.is_set():
            raise asyncio.CancelledError

    def shutdown(self) -> None:
        """The server is stopping: wake every waiter (each answers UNAVAILABLE) and stop
        each running job at its next stage boundary."""
        self._closing.set()

    @property
    def closing(self) -> bool:
        """Whether shutdown() was called."""
        return self._closing.is_set()

    # --- reads and control, for servicers (owner-checked) ---------------------------------

    async def get(self, name: str, owner: str) -> Operation:
        """The caller's operation; NOT_FOUND when missing or someone else's."""
        return (await self._owned(name, owner)).operation

    async def record(self, name: str, owner: str, *, poll: bool = False) -> StoredOperation:
        """The caller's stored operation with what the store keeps beside it (NOT_FOUND when
        missing or someone else's); with `poll`, read as poll() reads."""
        if poll:
            await self.poll(name, owner)
        return await self._owned(name, owner)

    async def list(
        self,
        owner: str,
        prefix: str = "",
        done: bool | None = None,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> list[Operation]:
        """The caller's operations under a collection name (`operations`,
        `tunedModels/x/operations`; "" for all), optionally only done or not done, in
        creation order: `limit` of them (None: all) from match number `start` on."""
        collection = prefix.rstrip("/") + "/" if prefix else ""
        found = await self._store.list(
            owner=owner, prefix=collection, done=done, start=start, limit=limit
        )
        return [versioned.record.operation for versioned in found]

    async def poll(self, name: str, owner: str) -> Operation:
        """get(), as a client's read that the pacer sees (in production it returns at once;
        a test pacer may let a job advance a stage first)."""
        await self._owned(name, owner)
        await self.pacer.poll(name)
        return await self.get(name, owner)

    async def cancel(self, name: str, owner: str) -> Operation:
        """Stop the work, best effort. The operation stays, done, with error CANCELLED
        (unless it finished first)."""
        await self._owned(name, owner)
        live = self._live.get(name)
        task = live.task if live is not None else None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        await self._cancelled(name)
        return await self.get(name, owner)

    async def delete(self, name: str, owner: str) -> None:
        """Forget the operation; its work, if any, goes on."""
        await self._owned(name, owner)
        await self._store.delete(name)
        live = self._live.get(name)
        if live is None:
            return
        if live.task is None or live.task.done():
            del self._live[name]
        else:
            live.forgotten = True
            self.pacer.forget(name)
        live.done.set()  # waiters return (and then find the operation gone)

    async def wait(self, name: str, owner: str, timeout: float | None) -> Operation:
        """The operation once done, or as it is after `timeout` real seconds (None: no
        limit). The pacer knows of the wait while it lasts."""
        operation = await self.poll(name, owner)
        if operation.done:
            return operation
        # No live state: the operation ended since it was read, or its work runs elsewhere
        # (another replica, a resumed job): a durable store's watch wakes the wait then.
        live = self._live.get(name)
        if live is not None:
            live.waiters += 1
            try:
                with self.pacer.waiting(name), contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._done_or_closing(live), timeout)
            finally:
                live.waiters -= 1
        else:
            await wait_elsewhere(self._store, name, self._closing, timeout)
        stored = await self._store.get(name)
        if stored is not None and not stored.record.operation.done and self.closing:
            raise shutting_down()
        return stored.record.operation if stored is not None else operation

    async def _done_or_closing(self, live: _Live) -> None:
        # Until the operation is done or the server starts shutting down.
        if self._closing.is_set():
            return
        done = asyncio.ensure_future(live.done.wait())
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({done, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            closing.cancel()

    async def stop_if_cancelled(self, name: str) -> bool:
        """If the operation is stored as cancelled (through another replica of a shared
        store) while this process runs its work, stop that work as cancel() would here: the
        task is cancelled, the runner's on_cancel awaited and this process's waiters woken.
        Whether it was."""
        live = self._live.get(name)
        if live is None or not await self.was_cancelled(name):
            return False
        task = live.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        await self._cancelled(name)
        return True

    async def was_cancelled(self, name: str) -> bool:
        """Whether the operation is stored as done with CANCELLED (by any replica)."""
        stored = await self._store.get(name)
        return (
            stored is not None
            and stored.record.operation.done
            and stored.record.operation.error.code == code_pb2.CANCELLED
        )

    async def release(self, name: str) -> None:
        """Stop this process's work on a running operation without ending it: the task is
        cancelled and no on_cancel runs, the operation stays running in the store (a durable
        job, which its lease hands to the next server), and this process's waiters are
        woken (they then find it running, or answer UNAVAILABLE during shutdown)."""
        live = self._live.get(name)
        if live is None:
            return
        live.released = True
        task = live.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})
        if self._live.get(name) is live:
            del self._live[name]
        live.done.set()

    def detach(self, name: str) -> None:
        """The work of `name` is not this process's (a durable store's job workers run it,
        on any replica): keep no live state for it, so a wait here is woken through the
        store's watch (see wait) whichever process finishes it."""
        self._live.pop(name, None)

    def waiting(self, name: str) -> int:
        """How many wait() calls are waiting for the operation to finish."""
        live = self._live.get(name)
        return live.waiters if live is not None else 0

    # --- internals -------------------------------------------------------------------------

    async def _owned(self, name: str, owner: str) -> StoredOperation:
        stored = await self._store.get(name)
        if stored is None or stored.record.owner != owner or self._expired(stored.record):
            raise not_found(OPERATION_TYPE, name)
        return stored.record

    def _expired(self, stored: StoredOperation, now: float | None = None) -> bool:
        # Finished more than `retention` seconds ago (modified_at is when it finished).
        now = self.clock.now() if now is None else now
        return stored.operation.done and stored.modified_at + self.retention <= now

    async def _sweep(self, now: float) -> None:
        # Delete expired operations, at most once per tenth of the retention time, so the
        # scan costs little per create.
        if now - self._swept < self.retention / 10:
            return
        self._swept = now
        for found in await self._store.list(done=True):
            if self._expired(found.record, now) and name_is_idle(self._live, found.record.name):
                await self._store.delete(found.record.name)

    async def _finish(
        self,
        name: str,
        *,
        response: Message | None = None,
        error: status_pb2.Status | None = None,
    ) -> bool:
        finished = False

        def change(stored: StoredOperation) -> StoredOperation | None:
            nonlocal finished
            finished = not stored.operation.done
            if not finished:
                return None
            stored.operation.done = True
            if response is not None:
                stored.operation.response.CopyFrom(pack(response, stored.api))
            if error is not None:
                stored.operation.error.CopyFrom(error)
            return stored._replace(modified_at=now)

        now = self.clock.now()
        written: Versioned[StoredOperation] | None = await modify(self._store, name, change)
        if written is None or not finished:
            return False
        # Done: only the stored proto stays. Waiters hold the event they wait on.
        live = self._live.pop(name, None)
        if live is not None:
            live.done.set()
        return True

    async def _guard(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
            # A job that returns without finishing its operation would leave it running
            # for ever (and its live state kept); end it as a failure instead.
            await self._finish(name, error=ended_early())
        except asyncio.CancelledError:
            await self._cancelled(name)
            raise
        except Exception as exc:
            _LOG.exception("operation %s failed", name)
            await self._finish(
                name,
                error=status_pb2.Status(
                    code=code_pb2.INTERNAL, message=f"The job failed ({type(exc).__name__})"
                ),
            )

    async def _cancelled(self, name: str) -> None:
        live = self._live.get(name)
        if live is not None and live.released:
            return  # left running in the store, for its lease to hand on
        stored = await self._store.get(name)
        if stored is None:
            return
        operation = stored.record.operation
        if operation.done:
            if operation.error.code == code_pb2.CANCELLED and live is not None:
                await self._cancelled_elsewhere(name, live)
            return
        if self.closing and self.resumes_jobs:
            return  # left running in the store, for the next server to resume
        await _run_on_cancel(name, live)
        await self._finish(name, error=stopped_status() if self.closing else cancelled_status())

    async def _cancelled_elsewhere(self, name: str, live: _Live) -> None:
        # Cancelled by another process (its finish wrote CANCELLED) while this one ran the
        # work: the runner's on_cancel still runs here, once, then the live state goes as
        # _finish would have dropped it. Nothing is left to do after a cancel made here.
        await _run_on_cancel(name, live)
        if self._live.get(name) is live:
            del self._live[name]
        live.done.set()

    def _task_ended(self, name: str, live: _Live) -> None:
        if live.forgotten and self._live.get(name) is live:
            del self._live[name]


async def _run_on_cancel(name: str, live: _Live | None) -> None:
    # The runner's on_cancel, at most once per run.
    if live is None or live.on_cancel is None:
        return
    on_cancel, live.on_cancel = live.on_cancel, None
    try:
        await on_cancel()
    except Exception:
        _LOG.exception("cancelling operation %s", name)


def name_is_idle(live: dict[str, _Live], name: str) -> bool:
    """Whether no work of this process belongs to the named operation any more."""
    return name not in live


async def current_operation(operations: Operations, owner: str, first: Operation) -> Operation:
    """The operation `first` names as it is now, or `first` when it is gone (the answer an
    idempotent create repeats: see textgen.server.idempotency)."""
    try:
        return await operations.get(first.name, owner)
    except ServiceError:
        return first
