"""The store implementations every contract test runs against, and one adapter per record kind.

A new implementation joins the contract by adding a factory to IMPLEMENTATIONS: an async
context manager that takes the pytest request (for the fixtures it needs) and yields empty
Stores, cleaning up after. SQLite runs on a file in the test's temporary directory,
PostgreSQL on the session's throwaway cluster (tests/pg_cluster.py), emptied before each test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from google.longrunning import operations_proto_pb2 as operations_pb2
from textgen.v1 import dataset_pb2, model_pb2, tuned_model_pb2

from tests.pg_cluster import Cluster, create_database
from textgen.server.storage import (
    DatasetRecord,
    DatasetStore,
    OperationStore,
    StoredOperation,
    Stores,
    TunedModelRecord,
    TunedModelStore,
    modify,
)
from textgen.server.storage.backends import open_backend


@contextlib.asynccontextmanager
async def memory(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    yield Stores()


class Yielding:
    """A store that gives the loop away before and after each call, as a store doing I/O
    would: concurrent callers then really interleave between their reads and writes."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            result = await method(*args, **kwargs)
            await asyncio.sleep(0)
            return result

        return call


@contextlib.asynccontextmanager
async def yielding_memory(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    plain = Stores()
    yield Stores(
        operations=cast(OperationStore, Yielding(plain.operations)),
        tuned_models=cast(TunedModelStore, Yielding(plain.tuned_models)),
        datasets=cast(DatasetStore, Yielding(plain.datasets)),
    )


@contextlib.asynccontextmanager
async def sqlite(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    backend = await open_backend(f"sqlite://{tmp_path / 'stores.db'}")
    try:
        yield backend.stores
    finally:
        await backend.close()


@contextlib.asynccontextmanager
async def postgres(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    cluster: Cluster = request.getfixturevalue("postgres_cluster")
    backend = await open_backend(cluster.url())
    try:
        await backend.stores.clear()
        yield backend.stores
    finally:
        await backend.close()


Factory = Callable[[pytest.FixtureRequest], contextlib.AbstractAsyncContextManager[Stores]]
IMPLEMENTATIONS: dict[str, Factory] = {
    "memory": memory,
    "memory-yielding": yielding_memory,
    "sqlite": sqlite,
    "postgres": postgres,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    async with IMPLEMENTATIONS[request.param](request) as made:
        yield made


@pytest.fixture
def database(postgres_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """The URL of a new, empty PostgreSQL database of the test's own (servers on it apply
    the migrations when they start)."""
    name = request.node.name.replace("[", "_").replace("]", "")[:60]
    create_database(postgres_cluster.url(), name)
    return postgres_cluster.url(name)


@dataclass(frozen=True)
class Kind:
    """How the shared table tests make, read and change one kind of record.

    `owned` kinds are kept by owner and name (a Table: each principal's names are its own);
    the others by name alone (a NamedTable). `get`, `delete` and `modify` take the owner
    for both and pass it on only where the key holds it.
    """

    table: Callable[[Stores], Any]
    make: Callable[[str, str], Any]  # (name, owner) -> record
    label: Callable[[Any], str]  # a field the tests change and compare
    relabel: Callable[[Any, str], Any]  # a copy of the record with another label
    prefix: str  # the collection its names are in
    owned: bool

    def key(self, owner: str, name: str) -> tuple[str, ...]:
        """What the store finds the record by."""
        return (owner, name) if self.owned else (name,)

    async def get(self, stores: Stores, owner: str, name: str) -> Any:
        """`table.get` with this kind's key."""
        return await self.table(stores).get(*self.key(owner, name))

    async def delete(self, stores: Stores, owner: str, name: str) -> bool:
        """`table.delete` with this kind's key."""
        found: bool = await self.table(stores).delete(*self.key(owner, name))
        return found

    async def modify(
        self, stores: Stores, owner: str, name: str, change: Callable[[Any], Any]
    ) -> Any:
        """`storage.modify` in this kind's form."""
        if self.owned:
            return await modify(self.table(stores), owner, name, change)
        return await modify(self.table(stores), name, change)


def _operation(name: str, owner: str) -> StoredOperation:
    operation = operations_pb2.Operation(name=name)
    operation.error.message = "first"
    return StoredOperation(operation, owner)


def _relabel_operation(stored: StoredOperation, label: str) -> StoredOperation:
    operation = operations_pb2.Operation()
    operation.CopyFrom(stored.operation)
    operation.error.message = label
    return StoredOperation(operation, stored.owner)


def _tuned(name: str, owner: str) -> TunedModelRecord:
    return TunedModelRecord(
        model=tuned_model_pb2.TunedModel(name=name, display_name="first"),
        owner=owner,
        base_model=model_pb2.Model(name="models/base"),
        examples=(("in", "out"),),
    )


def _relabel_tuned(record: TunedModelRecord, label: str) -> TunedModelRecord:
    model = tuned_model_pb2.TunedModel()
    model.CopyFrom(record.model)
    model.display_name = label
    return TunedModelRecord(model, record.owner, record.base_model, record.examples)


def _dataset(name: str, owner: str) -> DatasetRecord:
    return DatasetRecord(
        dataset_pb2.Dataset(name=name, display_name="first", kind=dataset_pb2.Dataset.KIND_PROMPTS),
        owner,
    )


def _relabel_dataset(record: DatasetRecord, label: str) -> DatasetRecord:
    dataset = dataset_pb2.Dataset()
    dataset.CopyFrom(record.dataset)
    dataset.display_name = label
    return DatasetRecord(dataset, record.owner)


KINDS = {
    "operations": Kind(
        table=lambda stores: stores.operations,
        make=_operation,
        label=lambda stored: stored.operation.error.message,
        relabel=_relabel_operation,
        prefix="operations/",
        owned=False,
    ),
    "tuned_models": Kind(
        table=lambda stores: stores.tuned_models,
        make=_tuned,
        label=lambda record: record.model.display_name,
        relabel=_relabel_tuned,
        prefix="tunedModels/",
        owned=True,
    ),
    "datasets": Kind(
        table=lambda stores: stores.datasets,
        make=_dataset,
        label=lambda record: record.dataset.display_name,
        relabel=_relabel_dataset,
        prefix="datasets/",
        owned=True,
    ),
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


@pytest.fixture(params=sorted(name for name, kind in KINDS.items() if kind.owned))
def owned_kind(request: pytest.FixtureRequest) -> Kind:
    """A kind kept by owner and name."""
    return KINDS[request.param]
