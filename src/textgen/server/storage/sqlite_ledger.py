"""The job ledger in SQLite (see textgen.server.storage.ledger): each call one transaction on
the store's worker thread. One server process uses a file, so a claim needs no row locks:
BEGIN IMMEDIATE already makes each transaction the only writer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from textgen.server.storage.datasets import RowBlock
from textgen.server.storage.ledger import BATCH, BatchClaim, Completion, Job, OpenJob
from textgen.server.storage.sql_tables import FIND_DATASET, GROW_DATASET, INSERT_BLOCK, pieces
from textgen.server.storage.sqlite import SqliteDatabase
from textgen.v1 import dataset_pb2

_JOB = "SELECT operation, kind, spec, total FROM jobs"


def _job(row: Sequence[Any]) -> Job:
    return Job(row[0], row[1], row[2], int(row[3]))


class SqliteJobLedger:
    """A JobLedger in the SQLite file of the stores."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def add(self, job: Job, *, worker: str | None = None, lease: float = 0.0) -> None:
        """Record a new job and its free batches."""
        until = time.time() + lease if worker is not None else None

        def add(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO jobs (operation, kind, spec, total, lease_owner, lease_until) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (job.operation, job.kind, job.spec, job.total, worker, until),
            )
            if job.kind == BATCH:
                db.executemany(
                    "INSERT INTO job_batches (operation, number) VALUES (?, ?)",
                    [(job.operation, number) for number in range(job.total)],
                )

        await self._database.transaction(add)

    async def claim_batch(self, worker: str, lease: float) -> BatchClaim | None:
        """Lease the first free batch of an open job."""
        now = time.time()

        def claim(db: sqlite3.Connection) -> BatchClaim | None:
            found = db.execute(
                "SELECT j.operation, j.kind, j.spec, j.total, b.number FROM job_batches b "
                "JOIN jobs j ON j.operation = b.operation WHERE NOT b.done AND NOT j.finished "
                "AND (b.lease_until IS NULL OR b.lease_until < ?) ORDER BY j.seq, b.number "
                "LIMIT 1",
                (now,),
            ).fetchone()
            if found is None:
                return None
            db.execute(
                "UPDATE job_batches SET lease_owner = ?, lease_until = ? "
                "WHERE operation = ? AND number = ?",
                (worker, now + lease, found[0], found[4]),
            )
            return BatchClaim(_job(found[:4]), int(found[4]))

        return await self._database.transaction(claim)

    async def renew_batch(self, claim: BatchClaim, worker: str, lease: float) -> bool:
        """Extend the lease on a batch this worker holds."""
        changed = await self._database.rowcount(
            "UPDATE job_batches SET lease_until = ? WHERE operation = ? AND number = ? "
            "AND lease_owner = ? AND NOT done",
            (time.time() + lease, claim.job.operation, claim.number, worker),
        )
        return changed == 1

    async def complete_batch(
        self, claim: BatchClaim, worker: str, owner: str, results: str, rows: RowBlock
    ) -> Completion:
        """Record the rows and append every batch that now follows the appended ones."""
        operation = claim.job.operation

        def complete(db: sqlite3.Connection) -> Completion:
            done = db.execute("SELECT done FROM operations WHERE name = ?", (operation,))
            state = done.fetchone()
            if state is not None and state[0]:
                return Completion(False, _completed(db, operation), stopped=True)
            batch = db.execute(
                "SELECT done FROM job_batches WHERE operation = ? AND number = ?",
                (operation, claim.number),
            ).fetchone()
            if batch is None or batch[0]:
                return Completion(False, _completed(db, operation))
            db.execute(
                "UPDATE job_batches SET done = 1, worker = ?, result = ?, result_rows = ?, "
                "lease_owner = NULL WHERE operation = ? AND number = ?",
                (worker, rows.data, rows.count, operation, claim.number),
            )
            gone = not _append_ready(db, operation, owner, results)
            return Completion(True, _completed(db, operation), results_gone=gone)

        return await self._database.transaction(complete)

    async def claim_job(self, kind: str, worker: str, lease: float) -> Job | None:
        """Lease an open job of `kind` whose lease lapsed."""
        now = time.time()

        def claim(db: sqlite3.Connection) -> Job | None:
            found = db.execute(
                f"{_JOB} WHERE kind = ? AND NOT finished "
                "AND (lease_until IS NULL OR lease_until < ?) ORDER BY seq LIMIT 1",
                (kind, now),
            ).fetchone()
            if found is None:
                return None
            db.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE operation = ?",
                (worker, now + lease, found[0]),
            )
            return _job(found)

        return await self._database.transaction(claim)

    async def renew_job(self, operation: str, worker: str, lease: float) -> bool:
        """Extend the lease on a whole job this worker holds."""
        changed = await self._database.rowcount(
            "UPDATE jobs SET lease_until = ? WHERE operation = ? AND lease_owner = ? "
            "AND NOT finished",
            (time.time() + lease, operation, worker),
        )
        return changed == 1

    async def open_jobs(self) -> list[OpenJob]:
        """Every unfinished job with its progress."""
        rows = await self._database.all(
            "SELECT j.operation, j.kind, j.spec, j.total, "
            "(SELECT count(*) FROM job_batches b WHERE b.operation = j.operation AND b.done), "
            "(SELECT o.done FROM operations o WHERE o.name = j.operation) "
            "FROM jobs j WHERE NOT j.finished ORDER BY j.seq"
        )
        return [
            OpenJob(_job(row[:4]), int(row[4]), None if row[5] is None else bool(row[5]))
            for row in rows
        ]

    async def finish(self, operation: str) -> bool:
        """Close the job, once."""
        changed = await self._database.rowcount(
            "UPDATE jobs SET finished = 1, lease_owner = NULL WHERE operation = ? AND NOT finished",
            (operation,),
        )
        return changed == 1

    async def release_all(self) -> None:
        """Drop every lease."""
        await self._database.rowcount(
            "UPDATE job_batches SET lease_owner = NULL, lease_until = NULL WHERE NOT done"
        )
        await self._database.rowcount(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE NOT finished"
        )

    async def clear(self) -> None:
        """Forget every job."""
        await self._database.rowcount("DELETE FROM jobs")


def _completed(db: sqlite3.Connection, operation: str) -> int:
    (count,) = db.execute(
        "SELECT count(*) FROM job_batches WHERE operation = ? AND done", (operation,)
    ).fetchone()
    return int(count)


def _append_ready(db: sqlite3.Connection, operation: str, owner: str, results: str) -> bool:
    # Append the done batches that follow the appended ones; False when the result dataset
    # is gone.
    (appended,) = db.execute(
        "SELECT appended FROM jobs WHERE operation = ?", (operation,)
    ).fetchone()
    ready = db.execute(
        "SELECT number, result, result_rows FROM job_batches "
        "WHERE operation = ? AND number >= ? AND done "
        "ORDER BY number",
        (operation, appended),
    ).fetchall()
    blocks: list[RowBlock] = []
    for number, data, count in ready:
        if number != appended + len(blocks):
            break
        blocks.append(RowBlock(dataset_pb2.Dataset.KIND_RESULTS, bytes(data or b""), int(count)))
    if not blocks:
        return True
    dataset = db.execute(FIND_DATASET, (owner, results)).fetchone()
    if dataset is None:
        return False
    seq, _, count, size = dataset
    stored = pieces(blocks, count)
    db.executemany(INSERT_BLOCK, [(seq, at, block.count, block.data) for at, block in stored])
    count += sum(block.count for block in blocks)
    size += sum(len(block.data) for _, block in stored)
    db.execute(GROW_DATASET, (count, size, seq))
    db.execute(
        "UPDATE job_batches SET result = NULL WHERE operation = ? AND number >= ? AND number < ?",
        (operation, appended, appended + len(blocks)),
    )
    db.execute(
        "UPDATE jobs SET appended = ? WHERE operation = ?", (appended + len(blocks), operation)
    )
    return True
