"""The PostgreSQL stores: psycopg 3 with its async connection pool, for one or many replicas.

Every statement of textgen.server.storage.sql_table(s) runs on a pooled connection in
autocommit mode (one statement, one transaction); a dataset created with rows and an append
are transactions, and an append locks its dataset's row (SELECT ... FOR UPDATE) so two
replicas appending at once number their rows one after the other. The schema comes from
textgen.server.storage.migrations, applied under an advisory lock so replicas starting
together apply each migration once.

psycopg is the `postgres` extra: `pip install 'textgen-grpc[postgres]'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from textgen.server.storage import migrations
from textgen.server.storage.datasets import DatasetRecord, RowBlock, check_kind, pieces
from textgen.server.storage.sql_table import POSTGRES, Row
from textgen.server.storage.sql_tables import (
    FIND_DATASET,
    GROW_DATASET,
    INSERT_BLOCK,
    INSERT_DATASET,
    SqlDatasetReads,
    SqlOperationStore,
    SqlTunedModelStore,
)

# The advisory lock that serialises migrations (any constant shared by every replica).
MIGRATION_LOCK = 0x7465_7874_6765_6E31  # "textgen1"
DEFAULT_POOL_SIZE = 10
# The NOTIFY channel on which replicas announce finished operations (the payload: its name).
DONE_CHANNEL = "textgen_operation_done"
# Seconds between attempts to listen again after the listening connection broke.
RELISTEN_SECONDS = 0.5


class PostgresDatabase:
    """A connection pool to one database (a Runner)."""

    dialect = POSTGRES

    def __init__(self, conninfo: str, *, max_size: int = DEFAULT_POOL_SIZE) -> None:
        self.conninfo = conninfo
        self.pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
        )
        # Called with the name of each operation another replica (or this one) finished.
        self.listeners: list[Callable[[str], None]] = []
        self._listener: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Open the pool, bring the schema up to date and start listening for finished
        operations."""
        await self.pool.open(wait=True)
        await self._migrate()
        listening = asyncio.get_running_loop().create_future()
        self._listener = asyncio.create_task(self._listen(listening))
        await listening

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self.pool.close()

    async def _listen(self, listening: asyncio.Future[None]) -> None:
        # One connection of its own, outside the pool, LISTENing for finished operations;
        # each notification is handed to every listener. A broken connection is replaced
        # (waiters whose notification was lost wake at their timeout and read the store).
        while True:
            try:
                conn = await AsyncConnection.connect(self.conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {DONE_CHANNEL}".encode())
                    if not listening.done():
                        listening.set_result(None)
                    async for notice in conn.notifies():
                        for listener in self.listeners:
                            listener(notice.payload)
            except psycopg.OperationalError:
                if not listening.done():
                    raise
                await asyncio.sleep(RELISTEN_SECONDS)

    async def _migrate(self) -> None:
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            await conn.execute(migrations.VERSION_TABLE)
            cursor = await conn.execute("SELECT max(version) FROM schema_version")
            found = await cursor.fetchone()
            for migration in migrations.pending("postgres", found[0] if found else None):
                for statement in migration.statements():
                    await conn.execute(statement.encode())
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, now),
                )

    async def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute one statement; how many rows it changed."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql.encode(), params or None)
            return cursor.rowcount

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql.encode(), params or None)
            return await cursor.fetchone()

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        async with self.pool.connection() as conn:
            cursor = await conn.execute(sql.encode(), params or None)
            return list(await cursor.fetchall())


class PostgresOperationStore(SqlOperationStore):
    """An OperationStore in PostgreSQL: a finished operation is announced to every replica
    (NOTIFY), whose listener wakes its own waiters."""

    def __init__(self, database: PostgresDatabase) -> None:
        super().__init__(database)
        self._database = database
        database.listeners.append(self.done_watch.notify)

    async def finished(self, name: str) -> None:
        """NOTIFY every replica (this one's listener included) that `name` is done."""
        self.done_watch.notify(name)
        await self._database.rowcount("SELECT pg_notify(%s, %s)", (DONE_CHANNEL, name))


class PostgresTunedModelStore(SqlTunedModelStore):
    """A TunedModelStore in PostgreSQL."""


_INSERT_DATASET = POSTGRES.sql(INSERT_DATASET + " RETURNING seq")
_INSERT_BLOCK = POSTGRES.sql(INSERT_BLOCK)
_GROW_DATASET = POSTGRES.sql(GROW_DATASET)
_LOCK_DATASET = POSTGRES.sql(FIND_DATASET + " FOR UPDATE")


class PostgresDatasetStore(SqlDatasetReads):
    """A DatasetStore in PostgreSQL: a create with rows and an append are transactions."""

    def __init__(self, database: PostgresDatabase) -> None:
        super().__init__(database)
        self._pool = database.pool

    async def create(self, record: DatasetRecord, rows: Sequence[RowBlock] = ()) -> bool:
        """Insert the dataset with its first rows unless its owner has one of its name."""
        check_kind(record.dataset.kind, rows)
        stored = pieces(rows, 0)
        count = sum(block.count for _, block in stored)
        size = sum(len(block.data) for _, block in stored)
        params = (
            record.name,
            record.owner,
            record.dataset.kind,
            record.dataset.SerializeToString(),
            count,
            size,
        )
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_INSERT_DATASET, params)
            found = await cursor.fetchone()
            if found is None:
                return False
            if stored:
                await cursor.executemany(
                    _INSERT_BLOCK, [(found[0], at, block.count, block.data) for at, block in stored]
                )
            return True

    async def append_rows(self, owner: str, name: str, rows: RowBlock) -> int | None:
        """Append a block; the new row count, or None when the dataset is missing."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(_LOCK_DATASET, (owner, name))
            found = await cursor.fetchone()
            if found is None:
                return None
            seq, kind, count, size = found
            check_kind(kind, [rows])
            stored = pieces([rows], count)
            if stored:
                await cursor.executemany(
                    _INSERT_BLOCK, [(seq, at, block.count, block.data) for at, block in stored]
                )
            count += rows.count
            size += sum(len(block.data) for _, block in stored)
            await conn.execute(_GROW_DATASET, (count, size, seq))
            return int(count)
