"""Waiting for an operation whose work this process does not track: one run by another
replica, or resumed from a durable store. The store's DoneWatch (SQLite: its own writes;
PostgreSQL: LISTEN/NOTIFY from every replica) wakes the waiter; a store without one (memory)
has no such operations, and the wait returns at once.

A notification can be lost: PostgreSQL's listening connection may break and be replaced, and
what was announced in between reaches nobody. So a waiter also reads the store every
FALLBACK_SECONDS; a finish is then noticed that late at worst. That read is the safety net,
not the way waiters learn of a finish (a notified waiter wakes within milliseconds).
"""

from __future__ import annotations

import asyncio
from typing import Any

from textgen.server.storage import OperationStore
from textgen.server.storage.watch import DoneWatch

# Seconds between a waiter's reads of the store while no notification wakes it.
FALLBACK_SECONDS = 5.0


async def wait_elsewhere(
    store: OperationStore,
    name: str,
    closing: asyncio.Event,
    timeout: float | None,
    *,
    fallback: float | None = None,
) -> None:
    """Return once `name` is stored as done or gone, a notification names it, the server
    starts shutting down, or `timeout` seconds pass (None: no limit). The store is read again
    every `fallback` seconds (None: FALLBACK_SECONDS)."""
    watch = getattr(store, "done_watch", None)
    if not isinstance(watch, DoneWatch) or closing.is_set():
        return
    every = FALLBACK_SECONDS if fallback is None else fallback
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    with watch.watching(name) as woken:
        stop: asyncio.Future[Any] = asyncio.ensure_future(closing.wait())
        either: set[asyncio.Future[Any]] = {woken, stop}
        try:
            while True:
                current = await store.get(name)  # after registering, so no finish is missed
                if current is None or current.record.operation.done:
                    return
                left = every if deadline is None else min(every, deadline - loop.time())
                if left <= 0:
                    return
                ended, _ = await asyncio.wait(
                    either, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                if ended:
                    return
        finally:
            stop.cancel()
