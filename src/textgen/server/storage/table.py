"""What every store shares: owned records with a version, and the writes on them.

Each record carries its owner's principal, and each stored record has a version:
FIRST_VERSION when created, one more after every successful update.

Tuned models and datasets (`Table`) are kept by owner and name: the names a caller chooses
are its own, so two principals may each hold `datasets/foo`, and neither can tell that the
other's exists. Every lookup names the owner. Operations (`NamedTable`) are kept by name
alone: the server names them with random ids, so there is nothing for callers to contend
for, and the runners that finish them need no owner to find them.

Three writes are atomic in every implementation:

- `create(record)`: insert if no record has that key (for a Table: that owner and name);
  returns whether it inserted. A key that is taken is not an error at this level; the
  caller turns False into ALREADY_EXISTS.
- `update(record, expected_version)`: replace the record with the record's key only if the
  stored version still equals `expected_version` (compare-and-set); returns the new version,
  or None when the record is gone or was changed in between (read it again to tell which).
- `delete(...)`: remove; returns whether there was something to remove.

Stores hand out copies and take copies: a caller may change what `get` or `list` returned,
or what it passed to `create`/`update`, without changing what is stored. Listings are in
creation order (an update keeps a record's place; a deleted and re-created key goes last).

`modify` is the read, change, compare-and-set loop that callers use for every update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar, cast, overload

FIRST_VERSION = 1
# How many times `modify` tries before giving up. A lost compare-and-set means another
# writer's update went in, so writers as a whole always progress; the bound only keeps one
# writer from trying for ever while others keep winning.
MODIFY_ATTEMPTS = 100


class Record(Protocol):
    """What a store keeps: something named, owned by a principal."""

    @property
    def name(self) -> str:
        """The resource name, unique among its owner's records of its kind (and, for an
        operation, unique in its store)."""
        ...

    @property
    def owner(self) -> str:
        """The principal that created it."""
        ...


R = TypeVar("R", bound=Record)


class Versioned(Generic[R]):
    """A record as read from a store, with the version to pass back to `update`."""

    __slots__ = ("record", "version")

    def __init__(self, record: R, version: int) -> None:
        self.record = record
        self.version = version


class ConcurrentUpdateError(RuntimeError):
    """`modify` lost the compare-and-set race MODIFY_ATTEMPTS times in a row."""


class Table(Protocol[R]):
    """Records kept by (owner, name): the writes and the lookup every such store has
    (listing differs per store). A record's owner never changes."""

    async def create(self, record: R) -> bool:
        """Insert `record` unless its owner already has a record of its name (atomic); True
        when inserted. Other owners' records never stop it."""
        ...

    async def get(self, owner: str, name: str) -> Versioned[R] | None:
        """A copy of `owner`'s record `name` and its version, or None."""
        ...

    async def update(self, record: R, expected_version: int) -> int | None:
        """Replace `record.owner`'s record `record.name` if its version is still
        `expected_version` (atomic); the new version, or None when it is missing or its
        version differs."""
        ...

    async def delete(self, owner: str, name: str) -> bool:
        """Remove `owner`'s record `name` (atomic); True when there was one."""
        ...

    async def count(self, *, owner: str) -> int:
        """How many records `owner` has (for quotas)."""
        ...

    async def clear(self) -> None:
        """Remove every record (for tests and FakeServer.reset)."""
        ...


class NamedTable(Protocol[R]):
    """Records kept by name alone, each still recording its owner (operations)."""

    async def create(self, record: R) -> bool:
        """Insert `record` unless its name is taken (atomic); True when inserted."""
        ...

    async def get(self, name: str) -> Versioned[R] | None:
        """A copy of the record and its version, or None."""
        ...

    async def update(self, record: R, expected_version: int) -> int | None:
        """Replace the record named `record.name` if its version is still `expected_version`
        (atomic); the new version, or None when it is missing or its version differs."""
        ...

    async def delete(self, name: str) -> bool:
        """Remove the record (atomic); True when there was one."""
        ...

    async def count(self, *, owner: str) -> int:
        """How many records `owner` has."""
        ...

    async def clear(self) -> None:
        """Remove every record (for tests and FakeServer.reset)."""
        ...


@overload
async def modify(
    table: Table[R], owner: str, name: str, change: Callable[[R], R | None], /
) -> Versioned[R] | None: ...


@overload
async def modify(
    table: NamedTable[R], name: str, change: Callable[[R], R | None], /
) -> Versioned[R] | None: ...


async def modify(
    table: Table[R] | NamedTable[R],
    first: str,
    second: str | Callable[[R], R | None],
    third: Callable[[R], R | None] | None = None,
    /,
) -> Versioned[R] | None:
    """Apply `change` to a record and store the result with compare-and-set, reading again
    and retrying when another writer got there first: `modify(table, owner, name, change)`
    for `owner`'s record `name` of a Table, `modify(table, name, change)` for a NamedTable.

    `change` receives a copy it may alter in place; it returns the record to store, or None
    to leave the record as it is. Returns what is stored afterwards, or None when there is
    no such record. `change` may run more than once, so it must not have side effects; it
    may not rename the record, nor give a Table's record to another owner.
    """
    if third is None:  # a NamedTable: (name, change)
        named = cast("NamedTable[R]", table)
        change = cast("Callable[[R], R | None]", second)
        return await _modify(lambda: named.get(first), named.update, first, None, change)
    owned = cast("Table[R]", table)
    owner, name = first, cast(str, second)
    return await _modify(lambda: owned.get(owner, name), owned.update, name, owner, third)


async def _modify(
    read: Callable[[], Awaitable[Versioned[R] | None]],
    write: Callable[[R, int], Awaitable[int | None]],
    name: str,
    owner: str | None,
    change: Callable[[R], R | None],
) -> Versioned[R] | None:
    # The loop of both forms; `owner` is the owner a change must keep (None: any).
    for attempt in range(MODIFY_ATTEMPTS):
        if attempt:
            await asyncio.sleep(0)  # let the writer that won go on before reading again
        current = await read()
        if current is None:
            return None
        changed = change(current.record)
        if changed is None:
            return current
        if changed.name != name:
            raise ValueError(f"a change may not rename {name!r} to {changed.name!r}")
        if owner is not None and changed.owner != owner:
            raise ValueError(f"a change may not give {name!r} to another owner")
        version = await write(changed, current.version)
        if version is not None:
            return Versioned(changed, version)
    raise ConcurrentUpdateError(f"{name} kept changing while being updated")
