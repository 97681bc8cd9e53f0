"""Upgrading a database made by an earlier schema: migration 0003 makes tuned model and
dataset names unique per owner, and keeps every row, its creation order and its row blocks.

Each test builds a database at schema version 2 from the migration files themselves, fills
it as the stores of that schema did (one owner per name), opens it with the current stores
(which apply 0003) and checks what was there, and that a second owner may now take a name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
from textgen.server.storage.backends import open_backend
from textgen.server.storage.sql_table import POSTGRES, SQLITE, Dialect
from textgen.server.storage.sql_tables import OPERATIONS, TUNED_MODELS

# Runs one statement (with `?` placeholders) and answers its rows, if it has any.
Execute = Callable[[str, Sequence[Any]], list[Any]]
BEFORE = 2  # the schema version the database is built at


def tuned(name: str, owner: str, display_name: str) -> TunedModelRecord:
    return TunedModelRecord(
        tuned_model_pb2.TunedModel(name=name, display_name=display_name),
        owner,
        model_pb2.Model(name="models/base"),
        (("in", "out"),),
        adapter={"weights": [1, 2]},
        operation_name=f"{name}/operations/x",
    )


def prompts(*texts: str) -> RowBlock:
    return RowBlock.of_prompts(dataset_pb2.DatasetPrompt(text=text) for text in texts)


def build_old(dialect: Dialect, execute: Execute) -> None:
    """The schema at version BEFORE, filled as its stores filled it."""
    execute(migrations.VERSION_TABLE, ())
    for migration in migrations.migrations(dialect.name)[:BEFORE]:
        for statement in migration.statements():
            execute(statement, ())
        execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 'then')",
            (migration.version, migration.name),
        )

    def insert(table: str, columns: Sequence[str], values: Sequence[Any]) -> int:
        marks = ", ".join("?" for _ in values)
        rows = execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING seq", values
        )
        return int(rows[0][0])

    operation = StoredOperation(operations_pb2.Operation(name="operations/a", done=True), "alice")
    insert(
        "operations",
        ("name", "owner", "version", *OPERATIONS.written),
        ("operations/a", "alice", 1, *OPERATIONS.encode(operation)),
    )
    for record in (tuned("tunedModels/t", "alice", "Alice's"), tuned("tunedModels/u", "bob", "U")):
        insert(
            "tuned_models",
            ("name", "owner", "version", *TUNED_MODELS.written),
            (record.name, record.owner, 3, *TUNED_MODELS.encode(record)),
        )
    dataset_columns = ("name", "owner", "version", "kind", "dataset", "row_count", "row_bytes")
    blocks = [(0, prompts("0", "1")), (2, prompts("2"))]
    size = sum(len(block.data) for _, block in blocks)
    for name, owner in (("datasets/d", "alice"), ("datasets/e", "bob"), ("datasets/gone", "bob")):
        dataset = dataset_pb2.Dataset(name=name, kind=dataset_pb2.Dataset.KIND_PROMPTS)
        seq = insert(
            "datasets",
            dataset_columns,
            (name, owner, 1, dataset.kind, dataset.SerializeToString(), 3, size),
        )
        for first, block in blocks:
            execute(
                "INSERT INTO dataset_blocks (dataset_seq, first_index, row_count, data) "
                "VALUES (?, ?, ?, ?)",
                (seq, first, block.count, block.data),
            )
    # The newest dataset was deleted: its seq must not come back.
    execute("DELETE FROM dataset_blocks WHERE dataset_seq = ?", (seq,))
    execute("DELETE FROM datasets WHERE seq = ?", (seq,))


async def check_upgraded(url: str, execute: Execute) -> None:
    """Open `url` with the current stores (migrating it) and check what it holds."""
    gone_seq = 3
    backend = await open_backend(url)
    try:
        stores = backend.stores
        versions = [int(row[0]) for row in execute("SELECT version FROM schema_version", ())]
        assert sorted(versions) == [m.version for m in migrations.migrations(_dialect(url))]

        assert await stores.operations.get("operations/a") is not None
        alice_model = await stores.tuned_models.get("alice", "tunedModels/t")
        assert alice_model is not None and alice_model.version == 3
        assert alice_model.record.adapter == {"weights": [1, 2]}
        assert alice_model.record.model.display_name == "Alice's"
        assert await stores.tuned_models.get("bob", "tunedModels/t") is None
        assert [found.record.name for found in await stores.tuned_models.list()] == [
            "tunedModels/t",
            "tunedModels/u",
        ]
        rows = await stores.datasets.read_rows("alice", "datasets/d")
        assert [row.prompt.text for row in rows] == ["0", "1", "2"]
        usage = await stores.datasets.usage("bob", "datasets/e")
        assert usage is not None and usage.rows == 3

        # Names are now each owner's own: Bob takes Alice's, and hers stay as they were.
        assert await stores.tuned_models.create(tuned("tunedModels/t", "bob", "Bob's"))
        bob_dataset = DatasetRecord(
            dataset_pb2.Dataset(name="datasets/d", kind=dataset_pb2.Dataset.KIND_PROMPTS), "bob"
        )
        assert await stores.datasets.create(bob_dataset, [prompts("bob")])
        assert not await stores.datasets.create(bob_dataset)
        rows = await stores.datasets.read_rows("alice", "datasets/d")
        assert [row.prompt.text for row in rows] == ["0", "1", "2"]
        assert [
            row.prompt.text for row in await stores.datasets.read_rows("bob", "datasets/d")
        ] == ["bob"]
        alice_model = await stores.tuned_models.get("alice", "tunedModels/t")
        assert alice_model is not None and alice_model.record.model.display_name == "Alice's"
        listed = [(v.record.owner, v.record.name) for v in await stores.datasets.list()]
        assert listed == [("alice", "datasets/d"), ("bob", "datasets/e"), ("bob", "datasets/d")]
        [(seq,)] = execute(
            "SELECT seq FROM datasets WHERE owner = ? AND name = ?", ("bob", "datasets/d")
        )
        assert int(seq) > gone_seq

        # Deleting a dataset still takes its row blocks with it.
        assert await stores.datasets.delete("alice", "datasets/d")
        [(left,)] = execute("SELECT count(*) FROM dataset_blocks", ())
        assert int(left) == 2 + 1  # datasets/e's two blocks, Bob's datasets/d's one
    finally:
        await backend.close()


def _dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


async def test_sqlite_upgrade_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path, isolation_level=None) as db:

        def execute(sql: str, params: Sequence[Any]) -> list[Any]:
            return db.execute(SQLITE.sql(sql), params).fetchall()

        build_old(SQLITE, execute)
        await check_upgraded(f"sqlite://{path}", execute)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_postgres_upgrade_keeps_the_data(postgres_cluster: Cluster) -> None:
    import psycopg  # noqa: PLC0415

    create_database(postgres_cluster.url(), "upgrade_0003")
    url = postgres_cluster.url("upgrade_0003")
    with psycopg.connect(url, autocommit=True) as conn:

        def execute(sql: str, params: Sequence[Any]) -> list[Any]:
            cursor = conn.execute(POSTGRES.sql(sql).encode(), params or None)
            return list(cursor.fetchall()) if cursor.description else []

        build_old(POSTGRES, execute)
        await check_upgraded(url, execute)
