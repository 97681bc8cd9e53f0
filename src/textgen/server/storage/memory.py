"""The in-memory stores, the default: dicts in creation order, on one event loop.

Every method finishes without awaiting anything, so on its event loop each one is atomic as
the interfaces require. They are not for use from several threads at once.

Tuned models and datasets (and a dataset's rows) are kept by owner and name, operations by
name. What is kept is a private copy: operations as their encoded bytes (a finished operation
costs little more than its proto's size), tuned models and datasets as copies of their
protos, rows as encoded blocks of at most datasets.MAX_BLOCK_ROWS rows. Reads build new
objects.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from google.protobuf.message import Message

from textgen.server.storage.datasets import (
    DatasetRecord,
    RowBlock,
    RowUsage,
    check_kind,
    pieces,
)
from textgen.server.storage.operations import Operation, StoredOperation
from textgen.server.storage.table import FIRST_VERSION, Record, Versioned
from textgen.server.storage.tuned_models import TunedModelRecord, search_text
from textgen.v1 import dataset_pb2

K = TypeVar("K", str, tuple[str, str])  # how records are found: by name, or owner and name
R = TypeVar("R", bound=Record)
F = TypeVar("F")  # the form a record is kept in
M = TypeVar("M", bound=Message)


class _Entry(Generic[F]):
    __slots__ = ("kept", "name", "owner", "version")

    def __init__(self, kept: F, name: str, owner: str, version: int) -> None:
        self.kept = kept
        self.name = name
        self.owner = owner
        self.version = version


class _MemoryTable(Generic[K, R, F]):
    # The shared part: records by key in creation order, kept in the form `freeze` makes.
    # `key(owner, name)` is a record's key: its name, or its owner and name.

    def __init__(
        self,
        freeze: Callable[[R], F],
        thaw: Callable[[F], R],
        key: Callable[[str, str], K],
    ) -> None:
        self._freeze, self._thaw = freeze, thaw
        self._key: Callable[[str, str], K] = key
        self._entries: dict[K, _Entry[F]] = {}
        self._owned: Counter[str] = Counter()  # records per owner

    async def create(self, record: R) -> bool:
        """Insert unless the key is taken; True when inserted."""
        key = self._key(record.owner, record.name)
        if key in self._entries:
            return False
        self._entries[key] = _Entry(self._freeze(record), record.name, record.owner, FIRST_VERSION)
        self._owned[record.owner] += 1
        return True

    async def count(self, *, owner: str) -> int:
        """How many records `owner` has."""
        return self._owned[owner]

    def _get(self, key: K) -> Versioned[R] | None:
        entry = self._entries.get(key)
        return None if entry is None else Versioned(self._thaw(entry.kept), entry.version)

    async def update(self, record: R, expected_version: int) -> int | None:
        """Replace if the version matches; the new version or None."""
        entry = self._entries.get(self._key(record.owner, record.name))
        if entry is None or entry.version != expected_version:
            return None
        if entry.owner != record.owner:  # only where the key is the name alone
            self._owned[entry.owner] -= 1
            self._owned[record.owner] += 1
        entry.kept, entry.owner = self._freeze(record), record.owner
        entry.version += 1
        return entry.version

    def _delete(self, key: K) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._owned[entry.owner] -= 1
        if not self._owned[entry.owner]:
            del self._owned[entry.owner]
        return True

    async def clear(self) -> None:
        """Remove every record."""
        self._entries.clear()
        self._owned.clear()

    def _select(
        self,
        owner: str | None,
        prefix: str,
        start: int,
        limit: int | None,
        match: Callable[[F], bool] | None = None,
    ) -> list[Versioned[R]]:
        # The matches from number `start` on, at most `limit`; thaws only what it returns.
        if start < 0 or (limit is not None and limit < 0):
            raise ValueError("start and limit must not be negative")
        found: list[Versioned[R]] = []
        if limit == 0:
            return found
        skipped = 0
        for entry in self._entries.values():
            if owner is not None and entry.owner != owner:
                continue
            if not entry.name.startswith(prefix) or (match is not None and not match(entry.kept)):
                continue
            if skipped < start:
                skipped += 1
                continue
            found.append(Versioned(self._thaw(entry.kept), entry.version))
            if limit is not None and len(found) >= limit:
                break
        return found


def _by_name(owner: str, name: str) -> str:
    return name


def _by_owner(owner: str, name: str) -> tuple[str, str]:
    return owner, name


class _NamedMemoryTable(_MemoryTable[str, R, F]):
    # Records by name alone (a NamedTable).

    def __init__(self, freeze: Callable[[R], F], thaw: Callable[[F], R]) -> None:
        super().__init__(freeze, thaw, _by_name)

    async def get(self, name: str) -> Versioned[R] | None:
        """A copy and its version, or None."""
        return self._get(name)

    async def delete(self, name: str) -> bool:
        """Remove; True when there was a record."""
        return self._delete(name)


class _OwnedMemoryTable(_MemoryTable[tuple[str, str], R, F]):
    # Records by owner and name (a Table).

    def __init__(self, freeze: Callable[[R], F], thaw: Callable[[F], R]) -> None:
        super().__init__(freeze, thaw, _by_owner)

    async def get(self, owner: str, name: str) -> Versioned[R] | None:
        """A copy of `owner`'s record `name` and its version, or None."""
        return self._get((owner, name))

    async def delete(self, owner: str, name: str) -> bool:
        """Remove `owner`'s record `name`; True when there was one."""
        return self._delete((owner, name))


def _copy(message: M) -> M:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


# --- operations ------------------------------------------------------------------------------


class _KeptOperation:
    # Slots rather than a tuple: a kept operation is the store's whole cost per operation,
    # and a slotted object is the smaller of the two.
    __slots__ = ("api", "created_at", "data", "description", "done", "modified_at", "owner")

    def __init__(  # noqa: PLR0917  (positional, as a dataclass's __init__ was)
        self,
        data: bytes,  # the encoded Operation
        owner: str,
        done: bool,
        api: str,
        created_at: float,
        modified_at: float,
        description: str,
    ) -> None:
        self.data = data
        self.owner = owner
        self.done = done
        self.api = api
        self.created_at = created_at
        self.modified_at = modified_at
        self.description = description


def _freeze_operation(stored: StoredOperation) -> _KeptOperation:
    operation = stored.operation
    return _KeptOperation(
        operation.SerializeToString(),
        stored.owner,
        operation.done,
        stored.api,
        stored.created_at,
        stored.modified_at,
        stored.description,
    )


def _thaw_operation(kept: _KeptOperation) -> StoredOperation:
    return StoredOperation(
        Operation.FromString(kept.data),
        kept.owner,
        kept.api,
        kept.created_at,
        kept.modified_at,
        kept.description,
    )


class MemoryOperationStore(_NamedMemoryTable[StoredOperation, _KeptOperation]):
    """An OperationStore in memory; operations are kept encoded."""

    def __init__(self) -> None:
        super().__init__(_freeze_operation, _thaw_operation)

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        done: bool | None = None,
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[StoredOperation]]:
        """Matching operations in creation order, from match `start`, at most `limit`."""
        match = None if done is None else (lambda kept: kept.done == done)
        return self._select(owner, prefix, start, limit, match)


# --- tuned models ------------------------------------------------------------------------------


def _copy_tuned(record: TunedModelRecord) -> TunedModelRecord:
    return record._replace(model=_copy(record.model), base_model=_copy(record.base_model))


class MemoryTunedModelStore(_OwnedMemoryTable[TunedModelRecord, TunedModelRecord]):
    """A TunedModelStore in memory; protos are copied in and out, the adapter is shared."""

    def __init__(self) -> None:
        super().__init__(_copy_tuned, _copy_tuned)

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        words: Sequence[str] = (),
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[TunedModelRecord]]:
        """Matching tuned models in creation order, from match `start`, at most `limit`."""
        wanted = [word.lower() for word in words]

        def match(record: TunedModelRecord) -> bool:
            text = search_text(record.model)
            return all(word in text for word in wanted)

        return self._select(owner, prefix, start, limit, match if wanted else None)


# --- datasets ----------------------------------------------------------------------------------


class _Rows:
    # A dataset's rows: encoded blocks and the index of each block's first row.

    __slots__ = ("blocks", "count", "kind", "size", "starts")

    def __init__(self, kind: dataset_pb2.Dataset.Kind.ValueType) -> None:
        self.kind = kind
        self.blocks: list[RowBlock] = []
        self.starts: list[int] = []
        self.count = 0
        self.size = 0  # encoded bytes

    def append(self, block: RowBlock) -> None:
        for first, piece in pieces([block], self.count):
            self.blocks.append(piece)
            self.starts.append(first)
            self.count += piece.count
            self.size += len(piece.data)

    def read(self, start: int, stop: int) -> list[dataset_pb2.DatasetRow]:
        rows: list[dataset_pb2.DatasetRow] = []
        number = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while number < len(self.blocks) and self.starts[number] < stop:
            first, block = self.starts[number], self.blocks[number]
            rows.extend(block.decode(first, max(start - first, 0), stop - first))
            number += 1
        return rows


class MemoryDatasetStore(_OwnedMemoryTable[DatasetRecord, DatasetRecord]):
    """A DatasetStore in memory; rows are kept as encoded blocks."""

    def __init__(self) -> None:
        super().__init__(self._freeze, self._thaw)
        self._rows: dict[tuple[str, str], _Rows] = {}  # by owner and name

    def _freeze(self, record: DatasetRecord) -> DatasetRecord:
        return DatasetRecord(_copy(record.dataset), record.owner)

    def _thaw(self, kept: DatasetRecord) -> DatasetRecord:
        dataset = _copy(kept.dataset)
        rows = self._rows.get((kept.owner, kept.name))
        dataset.row_count = rows.count if rows is not None else 0
        return DatasetRecord(dataset, kept.owner)

    async def create(self, record: DatasetRecord, rows: Sequence[RowBlock] = ()) -> bool:
        """Insert the dataset with its first rows unless its owner has one of its name."""
        kept = _Rows(record.dataset.kind)
        check_kind(kept.kind, rows)
        if not await super().create(record):
            return False
        for block in rows:
            kept.append(block)
        self._rows[record.owner, record.name] = kept
        return True

    async def delete(self, owner: str, name: str) -> bool:
        """Remove the dataset and its rows."""
        self._rows.pop((owner, name), None)
        return await super().delete(owner, name)

    async def clear(self) -> None:
        """Remove every dataset."""
        self._rows.clear()
        await super().clear()

    async def append_rows(self, owner: str, name: str, rows: RowBlock) -> int | None:
        """Append a block; the new row count, or None when the dataset is missing."""
        kept = self._rows.get((owner, name))
        if kept is None:
            return None
        check_kind(kept.kind, [rows])
        kept.append(rows)
        return kept.count

    async def usage(self, owner: str, name: str) -> RowUsage | None:
        """How many rows the dataset holds and their encoded bytes; None when missing."""
        kept = self._rows.get((owner, name))
        return None if kept is None else RowUsage(kept.count, kept.size)

    async def read_rows(
        self, owner: str, name: str, start: int = 0, stop: int | None = None
    ) -> list[dataset_pb2.DatasetRow]:
        """Rows `start` to `stop` (exclusive), numbered."""
        if start < 0:
            raise ValueError("start must not be negative")
        kept = self._rows.get((owner, name))
        if kept is None:
            return []
        return kept.read(start, kept.count if stop is None else min(stop, kept.count))

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[DatasetRecord]]:
        """Matching datasets in creation order, from match `start`, at most `limit`."""
        return self._select(owner, prefix, start, limit)
