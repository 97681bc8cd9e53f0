"""Store URLs, durable reopening, and the schema migrations applied at start."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from google.longrunning import operations_proto_pb2 as operations_pb2
from textgen.v1 import dataset_pb2, model_pb2, tuned_model_pb2

from tests.pg_cluster import Cluster, create_database
from textgen.server.storage import (
    DatasetRecord,
    RowBlock,
    StoredOperation,
    TunedModelRecord,
    migrations,
)
from textgen.server.storage.backends import StoreUrlError, kind_of, open_backend, sqlite_path
from textgen.server.storage.migrations import SchemaTooNewError


def test_store_urls() -> None:
    assert kind_of("memory:") == "memory"
    assert kind_of("sqlite:///var/lib/textgen/state.db") == "sqlite"
    assert kind_of("postgresql://app@db:5432/textgen") == "postgres"
    assert kind_of("postgres://app@db/textgen") == "postgres"
    assert sqlite_path("sqlite:///var/lib/textgen/state.db") == "/var/lib/textgen/state.db"
    assert sqlite_path("sqlite:state.db") == "state.db"
    for bad in ("mysql://x/y", "memory:other", "file.db"):
        with pytest.raises(StoreUrlError):
            kind_of(bad)
    with pytest.raises(StoreUrlError, match="names a file"):
        sqlite_path("sqlite://host/file.db")


def test_migrations_are_numbered_from_one() -> None:
    for dialect in migrations.DIALECTS:
        found = migrations.migrations(dialect)
        assert [migration.version for migration in found] == list(range(1, len(found) + 1))
        assert all(migration.statements() for migration in found)
    assert len(migrations.migrations("sqlite")) == len(migrations.migrations("postgres"))
    with pytest.raises(SchemaTooNewError, match="newer release"):
        migrations.pending("sqlite", 999)


async def _fill(url: str) -> None:
    backend = await open_backend(url)
    try:
        stores = backend.stores
        operation = operations_pb2.Operation(name="operations/a", done=True)
        operation.error.message = "kept"
        await stores.operations.create(StoredOperation(operation, "alice", "yandex", 1.0, 2.0))
        await stores.tuned_models.create(
            TunedModelRecord(
                tuned_model_pb2.TunedModel(name="tunedModels/t", display_name="T"),
                "alice",
                model_pb2.Model(name="models/base"),
                (("in", "out"),),
                adapter={"weights": [1, 2]},
                operation_name="tunedModels/t/operations/x",
            )
        )
        dataset = dataset_pb2.Dataset(name="datasets/d", kind=dataset_pb2.Dataset.KIND_PROMPTS)
        rows = RowBlock.of_prompts(dataset_pb2.DatasetPrompt(text=str(n)) for n in range(5))
        await stores.datasets.create(DatasetRecord(dataset, "alice"), [rows])
    finally:
        await backend.close()


async def _check(url: str) -> None:
    backend = await open_backend(url)
    try:
        stores = backend.stores
        operation = await stores.operations.get("operations/a")
        assert operation is not None
        assert operation.record.operation.error.message == "kept"
        assert (operation.record.api, operation.record.modified_at) == ("yandex", 2.0)
        tuned = await stores.tuned_models.get("alice", "tunedModels/t")
        assert tuned is not None
        assert tuned.record.adapter == {"weights": [1, 2]}
        assert tuned.record.examples == (("in", "out"),)
        rows = await stores.datasets.read_rows("alice", "datasets/d")
        assert [row.prompt.text for row in rows] == ["0", "1", "2", "3", "4"]
    finally:
        await backend.close()


async def test_sqlite_keeps_everything_across_reopening(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'state.db'}"
    await _fill(url)
    await _check(url)
    with sqlite3.connect(tmp_path / "state.db") as db:
        applied = [row[0] for row in db.execute("SELECT version FROM schema_version")]
        assert applied == [m.version for m in migrations.migrations("sqlite")]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'state.db'}"
    await (await open_backend(url)).close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("INSERT INTO schema_version VALUES (999, 'future', 'later')")
    with pytest.raises(SchemaTooNewError):
        await open_backend(url)


async def test_postgres_replicas_starting_together_migrate_once(
    postgres_cluster: Cluster,
) -> None:
    create_database(postgres_cluster.url(), "migrate_once")
    url = postgres_cluster.url("migrate_once")
    opened = await asyncio.gather(*(open_backend(url) for _ in range(4)))
    for backend in opened:
        await backend.close()
    await _fill(url)
    await _check(url)
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url) as conn:
        applied = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
    assert applied == [m.version for m in migrations.migrations("postgres")]
