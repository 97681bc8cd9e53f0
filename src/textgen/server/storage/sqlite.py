"""The SQLite stores: one file, stdlib sqlite3 in WAL mode, run off the event loop.

Why stdlib sqlite3 and not aiosqlite: both run each call on a worker thread; aiosqlite adds a
dependency to the default durable store for what one ThreadPoolExecutor does here. The
executor has one thread, which owns the one connection: every statement and transaction
runs there in turn, so the event loop never blocks on the disk, the work waiting for the
database is bounded by one thread, and no two transactions of this process contend for
SQLite's write lock. WAL mode lets readers in other processes (a backup, the sqlite3 shell)
read while the server writes. `synchronous=NORMAL` with WAL survives a killed process (what
was committed is in the WAL file); a power cut may lose the last transactions, never corrupt
the file.

One server process per file: SQLite has no way for several servers to share work (use
PostgreSQL for replicas). The schema comes from textgen.server.storage.migrations.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from textgen.server.storage import migrations
from textgen.server.storage.datasets import DatasetRecord, RowBlock, check_kind, pieces
from textgen.server.storage.sql_table import SQLITE, Row
from textgen.server.storage.sql_tables import (
    FIND_DATASET,
    GROW_DATASET,
    INSERT_BLOCK,
    INSERT_DATASET,
    SqlDatasetReads,
    SqlOperationStore,
    SqlTunedModelStore,
)

T = TypeVar("T")
# Milliseconds a statement waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 10_000


class SqliteDatabase:
    """One SQLite file, its connection and the thread that uses it (a Runner)."""

    dialect = SQLITE

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="textgen-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Connect and bring the schema up to date."""
        await self._call(self._connect)

    async def close(self) -> None:
        """Close the connection and end the thread."""
        if self._connection is not None:
            await self._call(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=True)

    def _connect(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        # Migrations run with foreign keys off: a table is changed by building it anew and
        # dropping the old one, and with them on, dropping `datasets` would delete every
        # row block (ON DELETE CASCADE). _migrate checks the keys before it commits.
        connection.execute("PRAGMA foreign_keys = OFF")
        _migrate(connection)
        connection.execute("PRAGMA foreign_keys = ON")
        self._connection = connection

    async def _call(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError("the SQLite store is not open")
        return self._connection

    async def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one statement; how many rows it changed."""
        return await self._call(lambda: self._db().execute(sql, params).rowcount)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        found: Row | None = await self._call(lambda: self._db().execute(sql, params).fetchone())
        return found

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        return await self._call(lambda: self._db().execute(sql, params).fetchall())

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction (committed if it returns, else rolled back)."""
        return await self._call(functools.partial(_in_transaction, self._db(), work))


def _in_transaction(connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


def _migrate(connection: sqlite3.Connection) -> None:
    # Apply what is pending under an exclusive lock, so two processes opening one new file at
    # once apply each migration once.
    connection.execute("BEGIN EXCLUSIVE")
    try:
        connection.execute(migrations.VERSION_TABLE)
        (applied,) = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        pending = migrations.pending("sqlite", applied)
        for migration in pending:
            for statement in migration.statements():
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now),
            )
        if pending and connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
            raise RuntimeError("a migration left rows whose foreign keys point nowhere")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


class SqliteOperationStore(SqlOperationStore):
    """An OperationStore in a SQLite file."""


class SqliteTunedModelStore(SqlTunedModelStore):
    """A TunedModelStore in a SQLite file."""


class SqliteDatasetStore(SqlDatasetReads):
    """A DatasetStore in a SQLite file: a create with rows and an append are transactions."""

    def __init__(self, database: SqliteDatabase) -> None:
        super().__init__(database)
        self._database = database

    async def create(self, record: DatasetRecord, rows: Sequence[RowBlock] = ()) -> bool:
        """Insert the dataset with its first rows unless its owner has one of its name."""
        check_kind(record.dataset.kind, rows)
        stored = pieces(rows, 0)
        count = sum(block.count for _, block in stored)
        size = sum(len(block.data) for _, block in stored)
        dataset = record.dataset.SerializeToString()

        def insert(db: sqlite3.Connection) -> bool:
            params = (record.name, record.owner, record.dataset.kind, dataset, count, size)
            cursor = db.execute(INSERT_DATASET, params)
            if cursor.rowcount != 1:
                return False
            seq = cursor.lastrowid
            db.executemany(
                INSERT_BLOCK, [(seq, at, block.count, block.data) for at, block in stored]
            )
            return True

        return await self._database.transaction(insert)

    async def append_rows(self, owner: str, name: str, rows: RowBlock) -> int | None:
        """Append a block; the new row count, or None when the dataset is missing."""

        def append(db: sqlite3.Connection) -> int | None:
            found = db.execute(FIND_DATASET, (owner, name)).fetchone()
            if found is None:
                return None
            seq, kind, count, size = found
            check_kind(kind, [rows])
            stored = pieces([rows], count)
            db.executemany(
                INSERT_BLOCK, [(seq, at, block.count, block.data) for at, block in stored]
            )
            count += rows.count
            size += sum(len(block.data) for _, block in stored)
            db.execute(GROW_DATASET, (count, size, seq))
            return int(count)

        return await self._database.transaction(append)
