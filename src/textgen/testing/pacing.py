"""Job pacing for the emulator and FakeServer: jobs done at once, over clock time, or per poll.

A real server runs each job as fast as its work allows (textgen.server.lro.pacing.NoPacing).
Tests and the emulator want jobs they can watch: `Progression` is that setting, and
`ProgressionPacer` is the Pacer that applies it. A FakeServer takes it as
`FakeServer(progression=Progression.immediate())`; `textgen serve` as `--progression` and
`--job-seconds`.

A job is a series of stages: one per tuning step; for a batch, PENDING, IN_PROGRESS and one
per batch of rows. Each job keeps the Progression it started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Iterator
from typing import NamedTuple

from textgen.server.clock import Clock

# A read waits at most this long (real seconds) for a job to reach its next stage or end.
SETTLE_LIMIT = 10.0


class ProgressionMode(enum.Enum):
    """How long-running jobs move from one stage to the next."""

    # A job runs straight through; a read of its operation waits until it is done.
    IMMEDIATE = "immediate"
    # Each stage takes clock time (Progression.job_seconds spread over the job's stages).
    DURATION = "duration"
    # Each stage waits for polls of the operation (GetOperation or WaitOperation).
    POLLS = "polls"


class Progression(NamedTuple):
    """How fast tuning and batch jobs advance. The default takes 3 clock seconds per job."""

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


class _Job:
    # What the pacer knows of one running job.
    __slots__ = (
        "forgotten",
        "parked",
        "polls",
        "progression",
        "release",
        "task",
        "waiters",
        "watchers",
    )

    def __init__(self, progression: Progression, task: asyncio.Task[None]) -> None:
        self.progression = progression
        self.task = task
        self.parked = False  # waiting at a stage boundary for polls
        self.polls = 0
        self.waiters = 0  # clients waiting for the operation to finish
        self.forgotten = False  # its operation was deleted
        self.release = asyncio.Event()
        self.watchers: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        # Wake reads waiting for the job to park at its next stage or to end.
        watchers, self.watchers = self.watchers, []
        for future in watchers:
            if not future.done():
                future.set_result(None)


class ProgressionPacer:
    """A Pacer (textgen.server.lro.pacing) that applies a Progression.

    IMMEDIATE: stages do not wait, and a read of the operation waits (up to SETTLE_LIMIT
    real seconds) for the job to end. DURATION: each stage sleeps its share of job_seconds
    on `clock`. POLLS: each stage waits for polls_per_stage reads; a read that releases a
    stage returns once the job reaches the next one (or ends), and a client waiting for the
    operation (WaitOperation) releases every stage as the job reaches it.
    """

    def __init__(self, clock: Clock, progression: Progression | None = None) -> None:
        self.clock = clock
        # Applies to jobs that begin after it is set.
        self.progression = progression if progression is not None else Progression()
        self._jobs: dict[str, _Job] = {}

    def begin(self, name: str, task: asyncio.Task[None]) -> None:
        """Remember the job with the current progression."""
        job = _Job(self.progression, task)
        self._jobs[name] = job
        task.add_done_callback(lambda _: self._ended(name, job))

    async def stage(self, name: str, stages: int) -> None:
        """Hold the job at a stage boundary as its progression says."""
        job = self._jobs.get(name)
        progression = job.progression if job is not None else self.progression
        if progression.mode is ProgressionMode.IMMEDIATE:
            return
        if progression.mode is ProgressionMode.DURATION:
            await self.clock.sleep(progression.stage_seconds(stages))
            return
        if job is None or job.forgotten or job.waiters:
            return  # nobody can poll a deleted operation; a waiter lets every stage through
        job.polls = 0
        job.release.clear()
        job.parked = True
        job.notify()
        try:
            await job.release.wait()
        finally:
            job.parked = False

    async def poll(self, name: str) -> None:
        """IMMEDIATE: wait for the job to end. POLLS: count the poll, and once it releases a
        stage, wait until the job reaches the next one."""
        job = self._jobs.get(name)
        if job is None:
            return
        if job.progression.mode is ProgressionMode.IMMEDIATE:
            await _settle(job, until_done=True)
        elif job.progression.mode is ProgressionMode.POLLS:
            await self._count_poll(job)

    @contextlib.contextmanager
    def waiting(self, name: str) -> Iterator[None]:
        """While held, the job's stages do not wait for polls."""
        job = self._jobs.get(name)
        if job is None:
            yield
            return
        job.waiters += 1
        job.release.set()  # a job parked now goes on
        try:
            yield
        finally:
            job.waiters -= 1

    def forget(self, name: str) -> None:
        """Let a job whose operation was deleted run on without polls."""
        job = self._jobs.get(name)
        if job is not None:
            job.forgotten = True
            job.release.set()

    def _ended(self, name: str, job: _Job) -> None:
        job.notify()
        if self._jobs.get(name) is job:
            del self._jobs[name]

    async def _count_poll(self, job: _Job) -> None:
        if not job.parked:
            await _settle(job)  # the job has not reached its first stage yet
        if job.task.done() or not job.parked:
            return
        job.polls += 1
        if job.polls >= job.progression.polls_per_stage:
            job.parked = False
            job.release.set()
            await _settle(job)


async def _settle(job: _Job, *, until_done: bool = False) -> None:
    # Wait (bounded) until the job parks at its next stage boundary, or ends.
    task = job.task
    if task.done():
        return
    if until_done:
        await asyncio.wait({task}, timeout=SETTLE_LIMIT)
        return
    watcher: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    job.watchers.append(watcher)
    try:
        await asyncio.wait({watcher, task}, timeout=SETTLE_LIMIT, return_when="FIRST_COMPLETED")
    finally:
        if not watcher.done():
            watcher.cancel()
