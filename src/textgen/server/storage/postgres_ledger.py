"""The job ledger in PostgreSQL (see textgen.server.storage.ledger), shared by replicas.

A claim is one UPDATE over a `SELECT ... FOR UPDATE SKIP LOCKED` of the first free batch, so
replicas claiming at once take different batches without waiting on each other. Completing
a batch locks its job's row first, so two replicas completing batches of one job append
their rows one after the other, in batch order.

Why not procrastinate: it queues tasks (a function and its arguments) and runs each once,
with its own worker and retry model; here the unit of work is a batch of an operation whose
result must be appended in order and exactly once, in the same transaction as the batch is
marked done, next to the operation and dataset tables. That transaction is the heart of it,
and it cannot span procrastinate's own tables without reaching into them; the lease queries
below are a few statements.
"""

from __future__ import annotations

import time
from typing import Any

from psycopg import AsyncConnection

from textgen.server.storage.datasets import RowBlock
from textgen.server.storage.ledger import BATCH, BatchClaim, Completion, Job, OpenJob
from textgen.server.storage.postgres import PostgresDatabase
from textgen.server.storage.sql_tables import (
    FIND_DATASET,
    GROW_DATASET,
    INSERT_BLOCK,
    POSTGRES,
    pieces,
)
from textgen.v1 import dataset_pb2

Connection = AsyncConnection[tuple[Any, ...]]

_CLAIM_BATCH = b"""
WITH next AS (
    SELECT b.operation, b.number FROM job_batches b JOIN jobs j ON j.operation = b.operation
    WHERE NOT b.done AND NOT j.finished AND (b.lease_until IS NULL OR b.lease_until < %s)
    ORDER BY j.seq, b.number LIMIT 1
    FOR UPDATE OF b SKIP LOCKED
)
UPDATE job_batches b SET lease_owner = %s, lease_until = %s FROM next
WHERE b.operation = next.operation AND b.number = next.number
RETURNING b.operation, b.number
"""
_CLAIM_JOB = b"""
WITH next AS (
    SELECT operation FROM jobs WHERE kind = %s AND NOT finished
    AND (lease_until IS NULL OR lease_until < %s)
    ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED
)
UPDATE jobs j SET lease_owner = %s, lease_until = %s FROM next
WHERE j.operation = next.operation
RETURNING j.operation, j.kind, j.spec, j.total
"""
_INSERT_BLOCK = POSTGRES.sql(INSERT_BLOCK).encode()
_GROW_DATASET = POSTGRES.sql(GROW_DATASET).encode()
_LOCK_DATASET = POSTGRES.sql(FIND_DATASET + " FOR UPDATE").encode()


class PostgresJobLedger:
    """A JobLedger in the PostgreSQL database of the stores."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._pool = database.pool

    async def add(self, job: Job, *, worker: str | None = None, lease: float = 0.0) -> None:
        """Record a new job and its free batches."""
        until = time.time() + lease if worker is not None else None
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                b"INSERT INTO jobs (operation, kind, spec, total, lease_owner, lease_until) "
                b"VALUES (%s, %s, %s, %s, %s, %s)",
                (job.operation, job.kind, job.spec, job.total, worker, until),
            )
            if job.kind == BATCH and job.total:
                await conn.execute(
                    b"INSERT INTO job_batches (operation, number) "
                    b"SELECT %s, generate_series(0, %s - 1)",
                    (job.operation, job.total),
                )

    async def claim_batch(self, worker: str, lease: float) -> BatchClaim | None:
        """Lease the first free batch of an open job (skipping rows others are claiming)."""
        now = time.time()
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_CLAIM_BATCH, (now, worker, now + lease))
            found = await cursor.fetchone()
            if found is None:
                return None
            cursor = await conn.execute(
                b"SELECT operation, kind, spec, total FROM jobs WHERE operation = %s",
                (found[0],),
            )
            job = await cursor.fetchone()
            assert job is not None  # a batch's job goes only with the batch
            return BatchClaim(Job(job[0], job[1], job[2], int(job[3])), int(found[1]))

    async def renew_batch(self, claim: BatchClaim, worker: str, lease: float) -> bool:
        """Extend the lease on a batch this worker holds."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                b"UPDATE job_batches SET lease_until = %s WHERE operation = %s AND number = %s "
                b"AND lease_owner = %s AND NOT done",
                (time.time() + lease, claim.job.operation, claim.number, worker),
            )
            return cursor.rowcount == 1

    async def complete_batch(
        self, claim: BatchClaim, worker: str, owner: str, results: str, rows: RowBlock
    ) -> Completion:
        """Record the rows and append every batch that now follows the appended ones."""
        operation = claim.job.operation
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                b"SELECT appended FROM jobs WHERE operation = %s FOR UPDATE", (operation,)
            )
            job = await cursor.fetchone()
            if job is None:
                return Completion(False, 0, stopped=True)
            # Shared lock: a cancel committed before this read is seen here, and one that
            # comes later waits until these rows are recorded (so none land after it).
            cursor = await conn.execute(
                b"SELECT done FROM operations WHERE name = %s FOR SHARE", (operation,)
            )
            state = await cursor.fetchone()
            if state is not None and state[0]:
                return Completion(False, await _completed(conn, operation), stopped=True)
            cursor = await conn.execute(
                b"UPDATE job_batches SET done = TRUE, worker = %s, result = %s, "
                b"result_rows = %s, lease_owner = NULL "
                b"WHERE operation = %s AND number = %s AND NOT done",
                (worker, rows.data, rows.count, operation, claim.number),
            )
            if cursor.rowcount != 1:
                return Completion(False, await _completed(conn, operation))
            gone = not await _append_ready(conn, operation, int(job[0]), owner, results)
            return Completion(True, await _completed(conn, operation), results_gone=gone)

    async def claim_job(self, kind: str, worker: str, lease: float) -> Job | None:
        """Lease an open job of `kind` whose lease lapsed."""
        now = time.time()
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_CLAIM_JOB, (kind, now, worker, now + lease))
            found = await cursor.fetchone()
            return None if found is None else Job(found[0], found[1], found[2], int(found[3]))

    async def renew_job(self, operation: str, worker: str, lease: float) -> bool:
        """Extend the lease on a whole job this worker holds."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                b"UPDATE jobs SET lease_until = %s WHERE operation = %s AND lease_owner = %s "
                b"AND NOT finished",
                (time.time() + lease, operation, worker),
            )
            return cursor.rowcount == 1

    async def open_jobs(self) -> list[OpenJob]:
        """Every unfinished job with its progress."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                b"SELECT j.operation, j.kind, j.spec, j.total, "
                b"(SELECT count(*) FROM job_batches b WHERE b.operation = j.operation "
                b"AND b.done), (SELECT o.done FROM operations o WHERE o.name = j.operation) "
                b"FROM jobs j WHERE NOT j.finished ORDER BY j.seq"
            )
            rows = await cursor.fetchall()
        return [
            OpenJob(
                Job(row[0], row[1], row[2], int(row[3])),
                int(row[4]),
                None if row[5] is None else bool(row[5]),
            )
            for row in rows
        ]

    async def finish(self, operation: str) -> bool:
        """Close the job, once."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                b"UPDATE jobs SET finished = TRUE, lease_owner = NULL WHERE operation = %s "
                b"AND NOT finished",
                (operation,),
            )
            return cursor.rowcount == 1

    async def release_all(self) -> None:
        """Nothing: replicas share the database, so only a lapse frees a lease."""

    async def clear(self) -> None:
        """Forget every job."""
        async with self._pool.connection() as conn:
            await conn.execute(b"DELETE FROM jobs")

    async def workers(self, operation: str) -> list[str]:
        """Who completed each batch of the job, in batch order (for tests and operators)."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                b"SELECT coalesce(worker, '') FROM job_batches WHERE operation = %s "
                b"ORDER BY number",
                (operation,),
            )
            return [row[0] for row in await cursor.fetchall()]


async def _completed(conn: Connection, operation: str) -> int:
    cursor = await conn.execute(
        b"SELECT count(*) FROM job_batches WHERE operation = %s AND done", (operation,)
    )
    found = await cursor.fetchone()
    return int(found[0]) if found is not None else 0


async def _append_ready(
    conn: Connection, operation: str, appended: int, owner: str, results: str
) -> bool:
    # Append the done batches that follow the appended ones (the job's row is locked); False
    # when the result dataset is gone.
    cursor = await conn.execute(
        b"SELECT number, result, result_rows FROM job_batches "
        b"WHERE operation = %s AND number >= %s AND done ORDER BY number",
        (operation, appended),
    )
    blocks: list[RowBlock] = []
    for number, data, count in await cursor.fetchall():
        if number != appended + len(blocks):
            break
        blocks.append(RowBlock(dataset_pb2.Dataset.KIND_RESULTS, bytes(data or b""), int(count)))
    if not blocks:
        return True
    cursor = await conn.execute(_LOCK_DATASET, (owner, results))
    dataset = await cursor.fetchone()
    if dataset is None:
        return False
    seq, _, count, size = dataset
    stored = pieces(blocks, count)
    await cursor.executemany(
        _INSERT_BLOCK, [(seq, at, block.count, block.data) for at, block in stored]
    )
    count += sum(block.count for block in blocks)
    size += sum(len(block.data) for _, block in stored)
    await conn.execute(_GROW_DATASET, (count, size, seq))
    end = appended + len(blocks)
    await conn.execute(
        b"UPDATE job_batches SET result = NULL WHERE operation = %s AND number >= %s "
        b"AND number < %s",
        (operation, appended, end),
    )
    await conn.execute(b"UPDATE jobs SET appended = %s WHERE operation = %s", (end, operation))
    return True
