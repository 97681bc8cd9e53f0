"""The job ledger: the work behind running operations, kept in the database beside them.

A job is one operation's work (a batch completion or a tuning run) with a `spec`, the JSON
that running it again needs. Workers lease work for a few seconds at a time and renew the
lease while they run it; a worker that dies stops renewing, its lease lapses, and another
worker (another replica, or the same server after a restart) claims the work again.

A batch job is split into its batches. `claim_batch` leases the first free batch of any open
job (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so replicas never wait on each other's
claims). `complete_batch` records a batch's result rows in one transaction that also appends,
to the job's result dataset, every completed batch that now follows the rows already there:
rows land in input order whichever replica finishes first, a batch completed twice (its lease
lapsed while it still ran) is recorded once, and nothing recorded is ever lost. A tuning job
is leased whole.

Leases compare wall-clock seconds (time.time()) of the replicas, so replicas need clocks
within a fraction of LEASE_SECONDS of each other (NTP is plenty).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from textgen.server.storage.datasets import RowBlock

BATCH = "batch"
TUNING = "tuning"


@dataclass(frozen=True)
class Job:
    """One operation's work: its kind, what running it needs, and how many batches."""

    operation: str
    kind: str
    spec: str
    total: int = 0


@dataclass(frozen=True)
class BatchClaim:
    """A batch leased to a worker: number `number` (from 0) of `job`."""

    job: Job
    number: int


@dataclass(frozen=True)
class Completion:
    """What `complete_batch` did.

    `recorded`: the rows were kept (False when the batch was already done, or the operation
    had finished meanwhile, say cancelled: `stopped`). `completed`: batches done so far.
    `results_gone`: the result dataset was deleted, so nothing could be appended.
    """

    recorded: bool
    completed: int
    stopped: bool = False
    results_gone: bool = False


@dataclass(frozen=True)
class OpenJob:
    """An unfinished job with its progress: batches done, and whether its operation is done."""

    job: Job
    completed: int
    operation_done: bool | None  # None: the operation is gone


class JobLedger(Protocol):
    """Jobs, their batches and leases (see the module docstring)."""

    async def add(self, job: Job, *, worker: str | None = None, lease: float = 0.0) -> None:
        """Record a new job (with `total` free batches); a tuning job is leased to `worker`
        for `lease` seconds at once."""
        ...

    async def claim_batch(self, worker: str, lease: float) -> BatchClaim | None:
        """Lease the first free batch of an open job to `worker`; None when there is none."""
        ...

    async def renew_batch(self, claim: BatchClaim, worker: str, lease: float) -> bool:
        """Extend `worker`'s lease on a batch; False when it lost the lease or is done."""
        ...

    async def complete_batch(
        self, claim: BatchClaim, worker: str, owner: str, results: str, rows: RowBlock
    ) -> Completion:
        """Record a batch's result rows and append what can be appended to `owner`'s
        dataset `results` (one transaction)."""
        ...

    async def claim_job(self, kind: str, worker: str, lease: float) -> Job | None:
        """Lease an open job of `kind` whose lease lapsed; None when there is none."""
        ...

    async def renew_job(self, operation: str, worker: str, lease: float) -> bool:
        """Extend `worker`'s lease on a whole job; False when another worker holds it."""
        ...

    async def open_jobs(self) -> list[OpenJob]:
        """Every unfinished job, oldest first."""
        ...

    async def finish(self, operation: str) -> bool:
        """Close the job; True only for the one call that closed it."""
        ...

    async def release_all(self) -> None:
        """Drop every lease (a single-process store, at start: no other worker is alive)."""
        ...

    async def clear(self) -> None:
        """Forget every job."""
        ...


class DurableWork(Protocol):
    """What a server on a durable store runs its jobs with (textgen.server.jobs.durable);
    ServerState.durable holds it, and the job starters hand their new jobs to it."""

    async def start_batch(self, plan: Any, name: str, metadata: Any, results: str) -> None:  # noqa: ANN401
        """Record a new batch job (plan: a jobs.batch.BatchPlan) for the workers."""
        ...

    async def record_tuning(self, name: str, run: asyncio.Task[None]) -> None:
        """Lease a tuning job this server has just started (`run`: its asyncio task), for
        as long as it runs."""
        ...
