"""Clocks and progression: where every duration of a long-running job comes from.

Production uses RealClock. Tests use ManualClock and advance it instantly, so a tuning job
or a batch finishes without waiting. `Progression` (a ServerState setting) says how a job
moves from one stage to the next: at once, after clock time, or after client polls.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from dataclasses import dataclass
from typing import Protocol

from google.protobuf import timestamp_pb2

# Where a ManualClock starts: 2024-01-01T00:00:00Z, so timestamps look plausible.
MANUAL_EPOCH = 1_704_067_200.0
# How many times ManualClock.advance yields to the loop after waking sleepers, so the woken
# jobs run up to their next await before time moves on.
_SETTLE_YIELDS = 8


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
    next, letting each woken task run on before the next jump, so advancing by a job's whole
    duration finishes it. From a thread other than the loop's, use `advance_threadsafe`.
    """

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None

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
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper whose deadline it passes."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._loop = asyncio.get_running_loop()
        target = self._now + seconds
        await self._settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline = self._sleepers[0][0]
            self._now = max(self._now, deadline)
            while self._sleepers and self._sleepers[0][0] <= deadline:
                _, _, future = heapq.heappop(self._sleepers)
                _wake(future)
            await self._settle()
        self._now = target
        await self._settle()

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

    @staticmethod
    async def _settle() -> None:
        for _ in range(_SETTLE_YIELDS):
            await asyncio.sleep(0)


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


class ProgressionMode(enum.Enum):
    """How long-running jobs move from one stage to the next."""

    # A job runs straight through; it is done by the time anyone looks at it.
    IMMEDIATE = "immediate"
    # Each stage takes clock time (Progression.job_seconds spread over the job's stages).
    DURATION = "duration"
    # Each stage waits for polls of the operation (GetOperation or WaitOperation).
    POLLS = "polls"


@dataclass(frozen=True)
class Progression:
    """How fast tuning and batch jobs advance; `ServerState.progression` holds the setting.

    A job is a series of stages: one per tuning step; for a batch, PENDING, IN_PROGRESS and
    one per batch of rows. The default takes a few seconds of clock time per job.
    """

    mode: ProgressionMode = ProgressionMode.DURATION
    # DURATION: clock seconds one whole job takes, whatever its number of stages.
    job_seconds: float = 3.0
    # POLLS: how many polls release one stage.
    polls_per_stage: int = 1

    @classmethod
    def immediate(cls) -> Progression:
        """Jobs finish without waiting."""
        return cls(ProgressionMode.IMMEDIATE)

    @classmethod
    def after_duration(cls, job_seconds: float = 3.0) -> Progression:
        """Jobs take `job_seconds` of clock time, spread evenly over their stages."""
        return cls(ProgressionMode.DURATION, job_seconds=job_seconds)

    @classmethod
    def after_polls(cls, polls_per_stage: int = 1) -> Progression:
        """Jobs advance one stage every `polls_per_stage` polls of their operation."""
        return cls(ProgressionMode.POLLS, polls_per_stage=max(1, polls_per_stage))

    def stage_seconds(self, stages: int) -> float:
        """Clock seconds one of `stages` stages takes in DURATION mode."""
        return self.job_seconds / max(stages, 1)


def timestamp(clock: Clock) -> timestamp_pb2.Timestamp:
    """The clock's current time as a protobuf Timestamp."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(clock.now() * 1e9))
    return stamp
