"""One table in SQL, for SQLite and PostgreSQL alike: how each database spells what differs,
what runs a statement, how a record becomes a row, and the reads and writes every kind of
record shares, each one statement.

A table is keyed by name, or by (owner, name) with a UNIQUE constraint on the pair. Each write
that the interfaces call atomic is one statement here (create is an INSERT ... ON CONFLICT DO
NOTHING on the key, update an UPDATE that compares the version, delete a DELETE), so the
database makes it atomic. Listings are in `seq` order, the creation order. The kinds of
record and their columns are in textgen.server.storage.sql_tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from textgen.server.storage.table import Record, Versioned

R = TypeVar("R", bound=Record)
Row = Sequence[Any]


@dataclass(frozen=True)
class Dialect:
    """How one database spells what differs: parameters, substring tests, no limit."""

    name: str
    placeholder: str
    contains: str  # a condition: the column's text holds the parameter's
    no_limit: int | None

    def sql(self, text: str) -> str:
        """`text` with each `?` replaced by this dialect's placeholder."""
        return text.replace("?", self.placeholder)


SQLITE = Dialect("sqlite", "?", "instr(search, ?) > 0", -1)
POSTGRES = Dialect("postgres", "%s", "strpos(search, ?) > 0", None)


class Runner(Protocol):
    """Runs one statement in its own transaction."""

    dialect: Dialect

    async def rowcount(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Execute; how many rows it changed."""
        ...

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        ...

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        ...


BY_NAME = ("name",)
BY_OWNER = ("owner", "name")


@dataclass(frozen=True)
class Codec(Generic[R]):
    """How one kind of record is stored: its table, the columns that find a record (BY_NAME
    or BY_OWNER), the columns written besides name, owner and version, the columns read
    back, and the conversions."""

    table: str
    key: tuple[str, ...]
    written: tuple[str, ...]
    read: tuple[str, ...]
    encode: Callable[[R], tuple[Any, ...]]  # values of `written`
    decode: Callable[[str, Row], R]  # (owner, values of `read`) -> record


class SqlTable(Generic[R]):
    """The writes, the count and the filtered listing, as single statements; the lookups
    by key are SqlNamedTable's and SqlOwnedTable's."""

    def __init__(self, runner: Runner, codec: Codec[R]) -> None:
        self._runner, self._codec = runner, codec
        self._dialect = runner.dialect
        columns = ", ".join(codec.written)
        marks = ", ".join("?" for _ in codec.written)
        sets = ", ".join(f"{column} = ?" for column in codec.written)
        read = ", ".join(codec.read)
        table = codec.table
        found = " AND ".join(f"{column} = ?" for column in codec.key)
        sql = self._dialect.sql
        self._create = sql(
            f"INSERT INTO {table} (name, owner, version, {columns}) VALUES (?, ?, 1, {marks}) "
            f"ON CONFLICT ({', '.join(codec.key)}) DO NOTHING"
        )
        self._get = sql(f"SELECT version, owner, {read} FROM {table} WHERE {found}")
        # Setting the owner changes it only where the key is the name alone.
        self._update = sql(
            f"UPDATE {table} SET owner = ?, version = version + 1, {sets} "
            f"WHERE {found} AND version = ?"
        )
        self._delete = sql(f"DELETE FROM {table} WHERE {found}")
        self._count = sql(f"SELECT count(*) FROM {table} WHERE owner = ?")
        self._clear = f"DELETE FROM {table}"
        self._list = f"SELECT name, version, owner, {read} FROM {table}"

    def _key(self, owner: str, name: str) -> tuple[str, ...]:
        # The values of the key's columns.
        return (owner, name) if self._codec.key == BY_OWNER else (name,)

    async def create(self, record: R) -> bool:
        """Insert unless the key is taken; True when inserted."""
        params = (record.name, record.owner, *self._codec.encode(record))
        return await self._runner.rowcount(self._create, params) == 1

    async def _get_by(self, key: tuple[str, ...]) -> Versioned[R] | None:
        row = await self._runner.one(self._get, key)
        if row is None:
            return None
        return Versioned(self._codec.decode(row[1], row[2:]), int(row[0]))

    async def update(self, record: R, expected_version: int) -> int | None:
        """Replace if the version matches; the new version or None."""
        key = self._key(record.owner, record.name)
        params = (record.owner, *self._codec.encode(record), *key, expected_version)
        changed = await self._runner.rowcount(self._update, params)
        return expected_version + 1 if changed == 1 else None

    async def _delete_by(self, key: tuple[str, ...]) -> bool:
        return await self._runner.rowcount(self._delete, key) == 1

    async def count(self, *, owner: str) -> int:
        """How many records `owner` has."""
        row = await self._runner.one(self._count, (owner,))
        return int(row[0]) if row is not None else 0

    async def clear(self) -> None:
        """Remove every record."""
        await self._runner.rowcount(self._clear)

    async def _select(
        self,
        owner: str | None,
        prefix: str,
        start: int,
        limit: int | None,
        conditions: Sequence[tuple[str, Any]] = (),
    ) -> list[Versioned[R]]:
        # The matches in creation order, from match `start`, at most `limit`.
        if start < 0 or (limit is not None and limit < 0):
            raise ValueError("start and limit must not be negative")
        if limit == 0:
            return []
        where: list[str] = []
        params: list[Any] = []
        if owner is not None:
            where.append("owner = ?")
            params.append(owner)
        if prefix:
            where.append("substr(name, 1, ?) = ?")
            params += [len(prefix), prefix]
        for condition, value in conditions:
            where.append(condition)
            params.append(value)
        text = self._list + (" WHERE " + " AND ".join(where) if where else "")
        text += " ORDER BY seq LIMIT ? OFFSET ?"
        params += [self._dialect.no_limit if limit is None else limit, start]
        rows = await self._runner.all(self._dialect.sql(text), params)
        return [Versioned(self._codec.decode(row[2], row[3:]), int(row[1])) for row in rows]


class SqlNamedTable(SqlTable[R]):
    """A NamedTable in SQL: records found by name alone."""

    async def get(self, name: str) -> Versioned[R] | None:
        """The record and its version, or None."""
        return await self._get_by((name,))

    async def delete(self, name: str) -> bool:
        """Remove; True when there was a record."""
        return await self._delete_by((name,))


class SqlOwnedTable(SqlTable[R]):
    """A Table in SQL: records found by owner and name."""

    async def get(self, owner: str, name: str) -> Versioned[R] | None:
        """`owner`'s record `name` and its version, or None."""
        return await self._get_by((owner, name))

    async def delete(self, owner: str, name: str) -> bool:
        """Remove `owner`'s record `name`; True when there was one."""
        return await self._delete_by((owner, name))
