"""The SQLite and PostgreSQL stores' tables: operations, tuned models and datasets, each as
its columns, how a record becomes a row and back, and its store's one-statement parts (the
shared machinery is textgen.server.storage.sql_table).

Tuned models and datasets are keyed by (owner, name), operations by name. Deleting a dataset
takes its row blocks with it by a foreign key. The dataset writes that take several
statements (a create with rows, an append) are transactions in each store's own module.

Records are kept as their encoded protos; a tuned model's adapter is pickled (a durable store
cannot share the engine's object as the memory store does, so what an engine returns as its
adapter must pickle).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from typing import Any

from textgen.server.storage.datasets import DatasetRecord, RowBlock, RowUsage, pieces
from textgen.server.storage.operations import Operation, StoredOperation
from textgen.server.storage.sql_table import (
    BY_NAME,
    BY_OWNER,
    POSTGRES,
    Codec,
    Row,
    Runner,
    SqlNamedTable,
    SqlOwnedTable,
)
from textgen.server.storage.table import Versioned
from textgen.server.storage.tuned_models import TunedModelRecord, search_text
from textgen.server.storage.watch import DoneWatch
from textgen.v1 import dataset_pb2, model_pb2, tuned_model_pb2

__all__ = [  # POSTGRES and pieces stay importable from here for the ledger modules
    "DATASETS",
    "FIND_DATASET",
    "GROW_DATASET",
    "INSERT_BLOCK",
    "INSERT_DATASET",
    "OPERATIONS",
    "POSTGRES",
    "TUNED_MODELS",
    "SqlDatasetReads",
    "SqlOperationStore",
    "SqlTunedModelStore",
    "pieces",
]

# --- operations ----------------------------------------------------------------------------


def _encode_operation(stored: StoredOperation) -> tuple[Any, ...]:
    operation = stored.operation
    return (
        operation.done,
        stored.api,
        stored.created_at,
        stored.modified_at,
        stored.description,
        operation.SerializeToString(),
    )


def _decode_operation(owner: str, values: Row) -> StoredOperation:
    _, api, created_at, modified_at, description, data = values
    return StoredOperation(
        Operation.FromString(bytes(data)),
        owner,
        api,
        float(created_at),
        float(modified_at),
        description,
    )


_OPERATION_COLUMNS = ("done", "api", "created_at", "modified_at", "description", "data")
OPERATIONS: Codec[StoredOperation] = Codec(
    "operations",
    BY_NAME,
    _OPERATION_COLUMNS,
    _OPERATION_COLUMNS,
    _encode_operation,
    _decode_operation,
)


class SqlOperationStore(SqlNamedTable[StoredOperation]):
    """An OperationStore in SQL, with a DoneWatch its waiters wait on."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner, OPERATIONS)
        self.done_watch = DoneWatch()

    async def update(self, record: StoredOperation, expected_version: int) -> int | None:
        """Replace if the version matches, and wake this process's waiters when the
        operation is now done; the new version or None."""
        version = await super().update(record, expected_version)
        if version is not None and record.operation.done:
            await self.finished(record.name)
        return version

    async def finished(self, name: str) -> None:
        """Tell the waiters that `name` is done (a shared store tells every replica)."""
        self.done_watch.notify(name)

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
        conditions = [] if done is None else [("done = ?", done)]
        return await self._select(owner, prefix, start, limit, conditions)


# --- tuned models --------------------------------------------------------------------------


def _encode_tuned(record: TunedModelRecord) -> tuple[Any, ...]:
    model = record.model
    return (
        model.SerializeToString(),
        record.base_model.SerializeToString(),
        json.dumps([list(pair) for pair in record.examples]),
        None if record.adapter is None else pickle.dumps(record.adapter),
        record.operation_name,
        search_text(model),
    )


def _decode_tuned(owner: str, values: Row) -> TunedModelRecord:
    model, base_model, examples, adapter, operation_name = values[:5]
    return TunedModelRecord(
        model=tuned_model_pb2.TunedModel.FromString(bytes(model)),
        owner=owner,
        base_model=model_pb2.Model.FromString(bytes(base_model)),
        examples=tuple((str(pair[0]), str(pair[1])) for pair in json.loads(examples)),
        # Only this server writes the column, so unpickling it trusts no one else.
        adapter=None if adapter is None else pickle.loads(bytes(adapter)),
        operation_name=operation_name,
    )


_TUNED_COLUMNS = ("model", "base_model", "examples", "adapter", "operation_name", "search")
TUNED_MODELS: Codec[TunedModelRecord] = Codec(
    "tuned_models", BY_OWNER, _TUNED_COLUMNS, _TUNED_COLUMNS, _encode_tuned, _decode_tuned
)


class SqlTunedModelStore(SqlOwnedTable[TunedModelRecord]):
    """A TunedModelStore in SQL."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner, TUNED_MODELS)

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
        conditions = [(self._dialect.contains, word.lower()) for word in words]
        return await self._select(owner, prefix, start, limit, conditions)


# --- datasets ------------------------------------------------------------------------------


def _encode_dataset(record: DatasetRecord) -> tuple[Any, ...]:
    return (record.dataset.kind, record.dataset.SerializeToString())


def _decode_dataset(owner: str, values: Row) -> DatasetRecord:
    _, data, row_count = values
    dataset = dataset_pb2.Dataset.FromString(bytes(data))
    dataset.row_count = int(row_count)
    return DatasetRecord(dataset, owner)


DATASETS: Codec[DatasetRecord] = Codec(
    "datasets",
    BY_OWNER,
    ("kind", "dataset"),
    ("kind", "dataset", "row_count"),
    _encode_dataset,
    _decode_dataset,
)

# Dataset statements with `?` placeholders (Dialect.sql converts them).
INSERT_DATASET = (
    "INSERT INTO datasets (name, owner, version, kind, dataset, row_count, row_bytes) "
    "VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING"
)
INSERT_BLOCK = (
    "INSERT INTO dataset_blocks (dataset_seq, first_index, row_count, data) VALUES (?, ?, ?, ?)"
)
GROW_DATASET = "UPDATE datasets SET row_count = ?, row_bytes = ? WHERE seq = ?"
# A dataset's row position and kind, by owner and name (an append's first read).
FIND_DATASET = "SELECT seq, kind, row_count, row_bytes FROM datasets WHERE owner = ? AND name = ?"


class SqlDatasetReads(SqlOwnedTable[DatasetRecord]):
    """The dataset store's one-statement parts: records, usage, row reads and the listing.
    Each database's store adds the writes that take a transaction."""

    def __init__(self, runner: Runner) -> None:
        super().__init__(runner, DATASETS)
        sql = runner.dialect.sql
        self._usage = sql("SELECT row_count, row_bytes FROM datasets WHERE owner = ? AND name = ?")
        self._blocks = sql(
            "SELECT d.kind, b.first_index, b.row_count, b.data FROM datasets d "
            "JOIN dataset_blocks b ON b.dataset_seq = d.seq "
            "WHERE d.owner = ? AND d.name = ? "
            "AND b.first_index < ? AND b.first_index + b.row_count > ? "
            "ORDER BY b.first_index"
        )

    async def usage(self, owner: str, name: str) -> RowUsage | None:
        """How many rows the dataset holds and their encoded bytes; None when missing."""
        row = await self._runner.one(self._usage, (owner, name))
        return None if row is None else RowUsage(int(row[0]), int(row[1]))

    async def read_rows(
        self, owner: str, name: str, start: int = 0, stop: int | None = None
    ) -> list[dataset_pb2.DatasetRow]:
        """Rows `start` to `stop` (exclusive), numbered."""
        if start < 0:
            raise ValueError("start must not be negative")
        end = 2**62 if stop is None else stop
        if end <= start:
            return []
        rows: list[dataset_pb2.DatasetRow] = []
        found = await self._runner.all(self._blocks, (owner, name, end, start))
        for kind, at, count, data in found:
            block = RowBlock(dataset_pb2.Dataset.Kind.ValueType(kind), bytes(data), int(count))
            first = int(at)
            rows.extend(block.decode(first, max(start - first, 0), end - first))
        return rows

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[DatasetRecord]]:
        """Matching datasets in creation order, from match `start`, at most `limit`."""
        return await self._select(owner, prefix, start, limit)
