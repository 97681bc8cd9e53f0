"""What every store shares: named, owned records with a version, and the writes on them.

A store keeps records by name. Each record carries its owner's principal, and each stored
record has a version: FIRST_VERSION when created, one more after every successful update.
Three writes are atomic in every implementation:

- `create(record)`: insert if no record has that name; returns whether it inserted. A name
  that is taken is not an error at this level; the caller turns False into ALREADY_EXISTS.
- `update(record, expected_version)`: replace the record only if the stored version still
  equals `expected_version` (compare-and-set); returns the new version, or None when the
  record is gone or was changed in between (read it again to tell which).
- `delete(name)`: remove; returns whether there was something to remove.

Stores hand out copies and take copies: a caller may change what `get` or `list` returned,
or what it passed to `create`/`update`, without changing what is stored. Listings are in
creation order (an update keeps a record's place; a deleted and re-created name goes last).

`modify` is the read, change, compare-and-set loop that callers use for every update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

FIRST_VERSION = 1
# How many times `modify` tries before giving up. A lost compare-and-set means another
# writer's update went in, so writers as a whole always progress; the bound only keeps one
# writer from trying for ever while others keep winning.
MODIFY_ATTEMPTS = 100


class Record(Protocol):
    """What a store keeps: something named, owned by a principal."""

    @property
    def name(self) -> str:
        """The resource name, unique in its store."""
        ...

    @property
    def owner(self) -> str:
        """The principal that created it."""
        ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Versioned(Generic[R]):
    """A record as read from a store, with the version to pass back to `update`."""

    record: R
    version: int


class ConcurrentUpdateError(RuntimeError):
    """`modify` lost the compare-and-set race MODIFY_ATTEMPTS times in a row."""


class Table(Protocol[R]):
    """The writes and the lookup every store has (listing differs per store)."""

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
        """How many records `owner` has (for quotas)."""
        ...

    async def clear(self) -> None:
        """Remove every record (for tests and FakeServer.reset)."""
        ...


async def modify(
    table: Table[R], name: str, change: Callable[[R], R | None]
) -> Versioned[R] | None:
    """Apply `change` to the named record and store the result with compare-and-set,
    reading again and retrying when another writer got there first.

    `change` receives a copy it may alter in place; it returns the record to store, or None
    to leave the record as it is. Returns what is stored afterwards, or None when there is
    no such record. `change` may run more than once, so it must not have side effects.
    """
    for attempt in range(MODIFY_ATTEMPTS):
        if attempt:
            await asyncio.sleep(0)  # let the writer that won go on before reading again
        current = await table.get(name)
        if current is None:
            return None
        changed = change(current.record)
        if changed is None:
            return current
        if changed.name != name:
            raise ValueError(f"a change may not rename {name!r} to {changed.name!r}")
        version = await table.update(changed, current.version)
        if version is not None:
            return Versioned(changed, version)
    raise ConcurrentUpdateError(f"{name} kept changing while being updated")
