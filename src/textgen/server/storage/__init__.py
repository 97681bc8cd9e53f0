"""Where a server keeps what outlives a call: operations, tuned models, datasets and rows.

Each kind has an async interface (a typing.Protocol) and an in-memory implementation, the
default. Durable stores (SQLite, PostgreSQL) implement the same interfaces and pass the same
contract tests (tests/server/storage/). `Stores` is the set a server uses; ServerState holds
it. What every store guarantees (atomic create-if-absent, compare-and-set updates, listings
in creation order, copies in and out) is set out in textgen.server.storage.table.
"""

from __future__ import annotations

from textgen.server.storage.datasets import DatasetRecord, DatasetStore, RowBlock, RowUsage
from textgen.server.storage.memory import (
    MemoryDatasetStore,
    MemoryOperationStore,
    MemoryTunedModelStore,
)
from textgen.server.storage.operations import OperationStore, StoredOperation
from textgen.server.storage.table import (
    FIRST_VERSION,
    ConcurrentUpdateError,
    Versioned,
    modify,
)
from textgen.server.storage.tuned_models import TunedModelRecord, TunedModelStore

__all__ = [
    "FIRST_VERSION",
    "ConcurrentUpdateError",
    "DatasetRecord",
    "DatasetStore",
    "MemoryDatasetStore",
    "MemoryOperationStore",
    "MemoryTunedModelStore",
    "OperationStore",
    "RowBlock",
    "RowUsage",
    "StoredOperation",
    "Stores",
    "TunedModelRecord",
    "TunedModelStore",
    "Versioned",
    "modify",
]


class Stores:
    """The stores of one server (in memory unless given). Set once: a server replaces the
    whole set (ServerState.stores), never one store of it."""

    __slots__ = ("datasets", "operations", "tuned_models")

    def __init__(
        self,
        operations: OperationStore | None = None,
        tuned_models: TunedModelStore | None = None,
        datasets: DatasetStore | None = None,
    ) -> None:
        self.operations: OperationStore = (
            operations if operations is not None else MemoryOperationStore()
        )
        self.tuned_models: TunedModelStore = (
            tuned_models if tuned_models is not None else MemoryTunedModelStore()
        )
        self.datasets: DatasetStore = datasets if datasets is not None else MemoryDatasetStore()

    async def clear(self) -> None:
        """Empty every store."""
        await self.operations.clear()
        await self.tuned_models.clear()
        await self.datasets.clear()
