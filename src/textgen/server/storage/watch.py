"""Waking waiters when an operation finishes, for stores whose operations may finish in
another process (a durable store) or outside this process's live bookkeeping.

A `DoneWatch` keeps, per operation name, the futures of the waiters; the store calls
`notify(name)` when it has stored an operation as done: the SQLite store when its own update
wrote `done`, the PostgreSQL store when a NOTIFY from any replica names the operation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class DoneWatch:
    """Waiters for operations to finish, woken by name."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}

    @contextlib.contextmanager
    def watching(self, name: str) -> Iterator[asyncio.Future[None]]:
        """A future resolved when `name` is notified while the block runs. Enter it before
        reading the operation, so a finish between the read and the wait is not missed."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(name, set()).add(woken)
        try:
            yield woken
        finally:
            waiters = self._waiting.get(name)
            if waiters is not None:
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[name]

    def notify(self, name: str) -> None:
        """Wake every waiter on `name` (on the watch's event loop)."""
        for woken in self._waiting.get(name, ()):
            if not woken.done():
                woken.set_result(None)

    def waiting(self) -> int:
        """How many waiters there are, over all operations."""
        return sum(len(waiters) for waiters in self._waiting.values())
