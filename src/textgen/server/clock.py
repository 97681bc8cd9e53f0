"""Clocks: where every timestamp and every paced wait of the servers comes from.

Production uses RealClock. Tests use ManualClock and advance it instantly, so a job paced
over clock time (textgen.testing.pacing) finishes without waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Any, Protocol

from google.protobuf import timestamp_pb2

# Where a ManualClock starts: 2024-01-01T00:00:00Z, so timestamps look plausible.
MANUAL_EPOCH = 1_704_067_200.0
# How many times ManualClock.advance yields to the loop after waking sleepers, at least.
_SETTLE_YIELDS = 8
# How long (real seconds) advance() waits at most for the tasks it woke to sleep again or end.
_SETTLE_LIMIT = 10.0


class Clock(Protocol):
    """Time as the servers see it."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until now() has advanced by `seconds`."""
        ...


class RealClock:
    """Wall-clock time and asyncio sleeps."""

    def now(self) -> float:
        """Seconds since the epoch, from the system clock."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(seconds)


class ManualClock:
    """Time that moves only when advanced; sleepers wake the moment it passes their deadline.

    `await clock.advance(s)` moves time forward in jumps from one sleeper's deadline to the
    next. After each jump it lets every task it woke run on until that task sleeps on this
    clock again or ends (within _SETTLE_LIMIT real seconds), so advancing by a job's whole
    duration finishes it, however often the job yields in between. From a thread other than
    the loop's, use `advance_threadsafe`.
    """

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Sleeping tasks, by sleep; a woken task is settled once it is back in here or done.
        self._asleep: dict[asyncio.Future[None], asyncio.Task[Any] | None] = {}

    def now(self) -> float:
        """The manual time, in seconds since the epoch."""
        return self._now

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting for time to advance."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by `seconds` (yield once when <= 0)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        self._asleep[future] = asyncio.current_task()
        try:
            await future
        finally:
            self._asleep.pop(future, None)

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper whose deadline it passes."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._loop = asyncio.get_running_loop()
        target = self._now + seconds
        await self._settle(set())
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline = self._sleepers[0][0]
            self._now = max(self._now, deadline)
            woken: set[asyncio.Task[Any]] = set()
            while self._sleepers and self._sleepers[0][0] <= deadline:
                _, _, future = heapq.heappop(self._sleepers)
                task = self._asleep.get(future)
                if task is not None:
                    woken.add(task)
                _wake(future)
            await self._settle(woken)
        self._now = target
        await self._settle(set())

    def advance_threadsafe(self, seconds: float, *, timeout: float = 30.0) -> None:
        """advance() from another thread: runs it on the loop the sleepers use and waits."""
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            self._now += seconds
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("on the clock's own loop, use `await clock.advance(...)`")
        asyncio.run_coroutine_threadsafe(self.advance(seconds), loop).result(timeout)

    async def _settle(self, woken: set[asyncio.Task[Any]]) -> None:
        # Yield a few times, then on until every woken task sleeps here again or has ended.
        for _ in range(_SETTLE_YIELDS):
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        end = loop.time() + _SETTLE_LIMIT
        spins = 0
        while any(not task.done() and not self._sleeping(task) for task in woken):
            if loop.time() > end:
                return
            spins += 1
            # Spin while the tasks run on the loop; once they seem to wait on something
            # slower (a worker thread, a socket), check every millisecond instead.
            await asyncio.sleep(0 if spins < 1000 else 0.001)

    def _sleeping(self, task: asyncio.Task[Any]) -> bool:
        return any(
            sleeper is task and not future.done() for future, sleeper in self._asleep.items()
        )


def _wake(future: asyncio.Future[None]) -> None:
    if future.done():
        return
    loop = future.get_loop()
    try:
        same_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        same_loop = False
    if same_loop:
        future.set_result(None)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_wake, future)


def timestamp(clock: Clock) -> timestamp_pb2.Timestamp:
    """The clock's current time as a protobuf Timestamp."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(clock.now() * 1e9))
    return stamp
