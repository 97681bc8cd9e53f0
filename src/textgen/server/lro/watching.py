"""Waiting for an operation whose work this process does not track: one run by another
replica, or resumed from a durable store. The store's DoneWatch (SQLite: its own writes;
PostgreSQL: LISTEN/NOTIFY from every replica) wakes the waiter; a store without one (memory)
has no such operations, and the wait returns at once."""

from __future__ import annotations

import asyncio
import contextlib

from textgen.server.storage import OperationStore
from textgen.server.storage.watch import DoneWatch


async def wait_elsewhere(
    store: OperationStore, name: str, closing: asyncio.Event, timeout: float | None
) -> None:
    """Return once `name` is stored as done or gone, the server starts shutting down, or
    `timeout` seconds pass (None: no limit)."""
    watch = getattr(store, "done_watch", None)
    if not isinstance(watch, DoneWatch) or closing.is_set():
        return
    with watch.watching(name) as woken:
        current = await store.get(name)  # after registering, so no finish is missed
        if current is None or current.record.operation.done:
            return
        stop: asyncio.Future[None] = asyncio.ensure_future(_closed(closing))
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait({woken, stop}, return_when=asyncio.FIRST_COMPLETED), timeout
                )
        finally:
            stop.cancel()


async def _closed(closing: asyncio.Event) -> None:
    await closing.wait()
