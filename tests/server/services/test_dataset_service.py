"""DatasetService: create, upload, get, list, rows by page and by stream, delete."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from textgen.v1 import dataset_pb2, dataset_service_pb2, message_pb2

from tests.server.conftest import violated_fields

Prompt = dataset_pb2.DatasetPrompt


def rows(count: int) -> list[dataset_pb2.DatasetPrompt]:
    return [Prompt(text=f"row {i}") for i in range(count)]


async def test_create_get_list_delete(datasets: Any) -> None:
    conversation = Prompt(
        messages=dataset_pb2.MessageList(messages=[message_pb2.Message(content="hi")])
    )
    created = await datasets.CreateDataset(
        dataset_service_pb2.CreateDatasetRequest(
            dataset_id="prompts",
            dataset=dataset_pb2.Dataset(display_name="Prompts"),
            rows=[*rows(2), conversation],
        )
    )
    assert created.name == "datasets/prompts"
    assert created.row_count == 3 and created.kind == dataset_pb2.Dataset.KIND_PROMPTS
    got = await datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name=created.name))
    assert got.display_name == "Prompts"
    listed = await datasets.ListDatasets(dataset_service_pb2.ListDatasetsRequest())
    assert [d.name for d in listed.datasets] == [created.name]
    await datasets.DeleteDataset(dataset_service_pb2.DeleteDatasetRequest(name=created.name))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name=created.name))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


CASES = [
    ({"dataset_id": "Bad Id", "rows": rows(1)}, "dataset_id"),
    ({"rows": []}, "rows"),
    ({"rows": rows(1001)}, "rows"),
    ({"rows": [Prompt(text="a"), Prompt()]}, "rows[1]"),
    (
        {"rows": rows(1), "dataset": dataset_pb2.Dataset(display_name="x" * 257)},
        "dataset.display_name",
    ),
]


@pytest.mark.parametrize(("fields", "path"), CASES)
async def test_create_rules(datasets: Any, fields: dict[str, Any], path: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.CreateDataset(dataset_service_pb2.CreateDatasetRequest(**fields))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert path in violated_fields(caught.value)


async def test_duplicate_id_already_exists(datasets: Any) -> None:
    request = dataset_service_pb2.CreateDatasetRequest(dataset_id="dup", rows=rows(1))
    await datasets.CreateDataset(request)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.CreateDataset(request)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def messages(*items: dataset_service_pb2.UploadDatasetRequest) -> AsyncIterator[Any]:
    for item in items:
        yield item


def header(dataset_id: str) -> dataset_service_pb2.UploadDatasetRequest:
    return dataset_service_pb2.UploadDatasetRequest(
        header=dataset_service_pb2.UploadDatasetHeader(dataset_id=dataset_id)
    )


def chunk(count: int) -> dataset_service_pb2.UploadDatasetRequest:
    return dataset_service_pb2.UploadDatasetRequest(
        chunk=dataset_service_pb2.UploadDatasetChunk(rows=rows(count))
    )


async def test_upload_rows_and_stream_them(datasets: Any) -> None:
    created = await datasets.UploadDataset(messages(header("big"), chunk(700), chunk(800)))
    assert created.row_count == 1500
    page = await datasets.ListDatasetRows(
        dataset_service_pb2.ListDatasetRowsRequest(dataset=created.name, page_size=5000)
    )
    assert len(page.rows) == 1000 and page.next_page_token  # clamped to 1000
    streamed = [
        row.index
        async for response in datasets.StreamDatasetRows(
            dataset_service_pb2.StreamDatasetRowsRequest(dataset=created.name, start_index=1450)
        )
        for row in response.rows
    ]
    assert streamed == list(range(1450, 1500))


async def test_upload_order_rules(datasets: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(messages(chunk(1)))
    assert violated_fields(caught.value) == ["header"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(messages(header("x"), chunk(1), header("y")))
    assert violated_fields(caught.value) == ["chunk"]
    await datasets.UploadDataset(messages(header("taken"), chunk(1)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(messages(header("taken"), chunk(1)))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_malformed_dataset_name(datasets: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name="nope/1"))
    assert violated_fields(caught.value) == ["name"]


async def test_upload_row_rules_name_the_row(datasets: Any) -> None:
    bad = dataset_service_pb2.UploadDatasetRequest(
        chunk=dataset_service_pb2.UploadDatasetChunk(
            rows=[Prompt(text="fine"), Prompt(messages=dataset_pb2.MessageList()), Prompt()]
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(messages(header("rules"), chunk(3), bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["chunk.rows[2]", "chunk.rows[1].messages.messages"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name="datasets/rules"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND  # nothing was stored


async def test_an_upload_without_rows(datasets: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(messages(header("empty"), chunk(0)))
    assert violated_fields(caught.value) == ["chunk.rows"]


async def test_concurrent_uploads_of_one_id_have_one_winner(datasets: Any) -> None:
    # Each stream passes the early check of its header before either is stored; the store's
    # create-if-absent lets exactly one of them have the name.
    both_checked = asyncio.Event()
    checked = 0

    async def stream(rows: int) -> AsyncIterator[dataset_service_pb2.UploadDatasetRequest]:
        nonlocal checked
        yield header("contested")
        checked += 1
        if checked == 2:
            both_checked.set()
        await both_checked.wait()
        yield chunk(rows)

    outcomes = await asyncio.gather(
        datasets.UploadDataset(stream(2)), datasets.UploadDataset(stream(3)), return_exceptions=True
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, dataset_pb2.Dataset)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].code() == grpc.StatusCode.ALREADY_EXISTS
    stored = await datasets.GetDataset(dataset_service_pb2.GetDatasetRequest(name=winners[0].name))
    assert stored.row_count == winners[0].row_count


async def test_rows_read_back_across_chunks(datasets: Any) -> None:
    created = await datasets.UploadDataset(messages(header("pages"), chunk(3), chunk(250)))
    seen: list[str] = []
    token = ""
    while True:
        page = await datasets.ListDatasetRows(
            dataset_service_pb2.ListDatasetRowsRequest(
                dataset=created.name, page_size=100, page_token=token
            )
        )
        seen += [row.prompt.text for row in page.rows]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"row {i}" for i in range(3)] + [f"row {i}" for i in range(250)]
