"""The dataset store's rows: appended in blocks, numbered by the store, read by index range,
counted in row_count, deleted with their dataset, and never shared with callers."""

from __future__ import annotations

import asyncio

import pytest
from textgen.v1 import dataset_pb2, dataset_service_pb2

from textgen.server.storage import DatasetRecord, RowBlock, Stores

Dataset = dataset_pb2.Dataset


def dataset(
    name: str, kind: Dataset.Kind.ValueType = Dataset.KIND_PROMPTS, owner: str = "alice"
) -> DatasetRecord:
    return DatasetRecord(Dataset(name=name, kind=kind, display_name=name), owner)


def prompts(first: int, count: int) -> RowBlock:
    return RowBlock.of_prompts(
        dataset_pb2.DatasetPrompt(text=f"row {number}") for number in range(first, first + count)
    )


def texts(rows: list[dataset_pb2.DatasetRow]) -> list[str]:
    return [row.prompt.text for row in rows]


async def row_count(stores: Stores, name: str, owner: str = "alice") -> int:
    found = await stores.datasets.get(owner, name)
    assert found is not None
    return found.record.dataset.row_count


async def test_rows_append_and_read_by_range(stores: Stores) -> None:
    table = stores.datasets
    assert await table.create(dataset("datasets/a"), [prompts(0, 3)])
    assert await table.append_rows("alice", "datasets/a", prompts(3, 4)) == 7
    assert await table.append_rows("alice", "datasets/a", prompts(7, 1)) == 8
    assert await row_count(stores, "datasets/a") == 8

    everything = await table.read_rows("alice", "datasets/a")
    assert [row.index for row in everything] == list(range(8))
    assert texts(everything) == [f"row {number}" for number in range(8)]
    assert texts(await table.read_rows("alice", "datasets/a", 2, 5)) == ["row 2", "row 3", "row 4"]
    assert [row.index for row in await table.read_rows("alice", "datasets/a", 6)] == [6, 7]
    assert await table.read_rows("alice", "datasets/a", 8) == []
    assert await table.read_rows("alice", "datasets/a", 5, 100) == await table.read_rows(
        "alice", "datasets/a", 5
    )
    assert await table.read_rows("alice", "datasets/a", 4, 4) == []


async def test_rows_of_a_missing_dataset(stores: Stores) -> None:
    assert await stores.datasets.append_rows("alice", "datasets/none", prompts(0, 1)) is None
    assert await stores.datasets.read_rows("alice", "datasets/none") == []


async def test_big_blocks_read_in_any_range(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/big"), [prompts(0, 2500)])
    await table.append_rows("alice", "datasets/big", prompts(2500, 10))
    assert await row_count(stores, "datasets/big") == 2510
    window = await table.read_rows("alice", "datasets/big", 995, 2003)
    assert [row.index for row in window] == list(range(995, 2003))
    assert texts(window) == [f"row {number}" for number in range(995, 2003)]
    assert texts(await table.read_rows("alice", "datasets/big", 2499, 2501)) == [
        "row 2499",
        "row 2500",
    ]


async def test_create_with_rows_is_all_or_nothing(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/a"), [prompts(0, 2)])
    assert not await table.create(dataset("datasets/a"), [prompts(100, 5)])
    assert texts(await table.read_rows("alice", "datasets/a")) == ["row 0", "row 1"]


async def test_row_count_belongs_to_the_store(stores: Stores) -> None:
    table = stores.datasets
    record = dataset("datasets/a")
    record.dataset.row_count = 99
    await table.create(record, [prompts(0, 2)])
    assert await row_count(stores, "datasets/a") == 2
    current = await table.get("alice", "datasets/a")
    assert current is not None
    current.record.dataset.row_count = 1000
    current.record.dataset.description = "changed"
    await table.update(current.record, current.version)
    found = await table.get("alice", "datasets/a")
    assert found is not None
    assert found.record.dataset.description == "changed"
    assert found.record.dataset.row_count == 2
    [listed] = await table.list()
    assert listed.record.dataset.row_count == 2


async def test_result_rows(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/results", Dataset.KIND_RESULTS))
    assert await row_count(stores, "datasets/results") == 0
    results = [
        dataset_pb2.DatasetResult(
            input=dataset_pb2.DatasetPrompt(text=f"q{number}"), completion=f"a{number}"
        )
        for number in range(3)
    ]
    assert (
        await table.append_rows("alice", "datasets/results", RowBlock.of_results(results[:2])) == 2
    )
    assert (
        await table.append_rows("alice", "datasets/results", RowBlock.of_results(results[2:])) == 3
    )
    rows = await table.read_rows("alice", "datasets/results", 1)
    assert [(row.index, row.result.completion) for row in rows] == [(1, "a1"), (2, "a2")]
    assert rows[0].result.input.text == "q1"


async def test_rows_must_match_the_kind(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/prompts"))
    await table.create(dataset("datasets/results", Dataset.KIND_RESULTS))
    results = RowBlock.of_results([dataset_pb2.DatasetResult(completion="x")])
    with pytest.raises(ValueError, match="kind"):
        await table.append_rows("alice", "datasets/prompts", results)
    with pytest.raises(ValueError, match="kind"):
        await table.append_rows("alice", "datasets/results", prompts(0, 1))
    with pytest.raises(ValueError, match="kind"):
        await table.create(dataset("datasets/other"), [results])
    assert await table.get("alice", "datasets/other") is None


async def test_an_upload_chunk_is_a_block(stores: Stores) -> None:
    chunk = dataset_service_pb2.UploadDatasetChunk(
        rows=[dataset_pb2.DatasetPrompt(text="a"), dataset_pb2.DatasetPrompt(text="b")]
    )
    block = RowBlock.of_chunk(chunk)
    assert block.count == 2
    await stores.datasets.create(dataset("datasets/a"), [block])
    chunk.rows[0].text = "changed after the append"
    assert texts(await stores.datasets.read_rows("alice", "datasets/a")) == ["a", "b"]


async def test_read_rows_are_copies(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/a"), [prompts(0, 2)])
    rows = await table.read_rows("alice", "datasets/a")
    rows[0].prompt.text = "changed"
    rows[1].index = 40
    assert texts(await table.read_rows("alice", "datasets/a")) == ["row 0", "row 1"]
    assert [row.index for row in await table.read_rows("alice", "datasets/a")] == [0, 1]


async def test_delete_takes_the_rows(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/a"), [prompts(0, 2)])
    await table.delete("alice", "datasets/a")
    assert await table.read_rows("alice", "datasets/a") == []
    await table.create(dataset("datasets/a"))
    assert await table.read_rows("alice", "datasets/a") == []
    assert await row_count(stores, "datasets/a") == 0


async def test_concurrent_appends_keep_every_row_once(stores: Stores) -> None:
    table = stores.datasets
    await table.create(dataset("datasets/a"))
    counts = await asyncio.gather(
        *(table.append_rows("alice", "datasets/a", prompts(10 * block, 10)) for block in range(20))
    )
    assert sorted(count or 0 for count in counts) == [10 * (block + 1) for block in range(20)]
    rows = await table.read_rows("alice", "datasets/a")
    assert [row.index for row in rows] == list(range(200))
    # Each block's rows stay together and in order.
    found = texts(rows)
    for at in range(0, 200, 10):
        first = int(found[at].split()[1])
        assert found[at : at + 10] == [f"row {first + offset}" for offset in range(10)]
    assert sorted(found) == sorted(f"row {number}" for number in range(200))


def test_results_encoding_matches_the_contract() -> None:
    # A results block is what a StreamDatasetRowsResponse of result rows encodes to.
    block = RowBlock.of_results([dataset_pb2.DatasetResult(completion="x")])
    decoded = dataset_service_pb2.StreamDatasetRowsResponse.FromString(block.data)
    assert decoded.rows[0].result.completion == "x"


async def test_rows_belong_to_their_owners_dataset(stores: Stores) -> None:
    # Alice's and Bob's datasets/shared are two datasets, each with rows of its own.
    table = stores.datasets
    assert await table.create(dataset("datasets/shared"), [prompts(0, 3)])
    assert await table.create(dataset("datasets/shared", owner="bob"), [prompts(100, 1)])
    assert await table.append_rows("bob", "datasets/shared", prompts(101, 1)) == 2
    assert texts(await table.read_rows("alice", "datasets/shared")) == ["row 0", "row 1", "row 2"]
    assert texts(await table.read_rows("bob", "datasets/shared")) == ["row 100", "row 101"]
    assert await table.read_rows("carol", "datasets/shared") == []
    assert await table.append_rows("carol", "datasets/shared", prompts(0, 1)) is None
    alice, bob = (
        await table.usage("alice", "datasets/shared"),
        await table.usage("bob", "datasets/shared"),
    )
    assert alice is not None and bob is not None
    assert (alice.rows, bob.rows) == (3, 2)
    assert await table.usage("carol", "datasets/shared") is None
    assert await row_count(stores, "datasets/shared", "bob") == 2

    assert await table.delete("bob", "datasets/shared")
    assert await table.read_rows("bob", "datasets/shared") == []
    assert texts(await table.read_rows("alice", "datasets/shared")) == ["row 0", "row 1", "row 2"]
    assert await row_count(stores, "datasets/shared") == 3
