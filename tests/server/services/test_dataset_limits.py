"""Datasets under hostile use: atomic uploads, pages that fit a client, row and quota limits.

Each abuse case runs under asyncio.wait_for, so a regression fails the test instead of
hanging the suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2
from textgen.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc

from textgen.errors import status_of
from textgen.server.quotas import PAGE_BYTES, StorageLimits
from textgen.testing import FakeServer

pb = dataset_service_pb2
BOUND = 20.0  # seconds any one case may take


def _prompt(text: str) -> dataset_pb2.DatasetPrompt:
    return dataset_pb2.DatasetPrompt(text=text)


def _stub(channel: grpc.aio.Channel) -> dataset_service_pb2_grpc.DatasetServiceAsyncStub:
    stub: dataset_service_pb2_grpc.DatasetServiceAsyncStub = (
        dataset_service_pb2_grpc.DatasetServiceStub(channel)  # type: ignore[assignment]
    )
    return stub


async def _upload_then_stall(
    dataset_id: str, sent: asyncio.Event
) -> AsyncIterator[pb.UploadDatasetRequest]:
    yield pb.UploadDatasetRequest(header=pb.UploadDatasetHeader(dataset_id=dataset_id))
    for number in range(10):
        yield pb.UploadDatasetRequest(chunk=pb.UploadDatasetChunk(rows=[_prompt(f"row {number}")]))
    sent.set()
    await asyncio.Event().wait()  # never ends the stream: the client cancels or times out


async def _missing(stub: dataset_service_pb2_grpc.DatasetServiceAsyncStub, name: str) -> bool:
    try:
        await stub.GetDataset(pb.GetDatasetRequest(name=name))
    except grpc.aio.AioRpcError as error:
        return error.code() == grpc.StatusCode.NOT_FOUND
    return False


async def test_a_cancelled_or_expired_upload_leaves_nothing() -> None:
    """Ten rows sent, then the client cancels (or its deadline passes): no dataset, no rows.
    Before, each of these uploads created its dataset with the rows sent so far."""

    async def scenario() -> None:
        async with FakeServer() as fake, fake.aio_channel() as channel:
            stub = _stub(channel)
            for attempt in range(5):
                sent = asyncio.Event()
                call = stub.UploadDataset(_upload_then_stall(f"cancelled-{attempt}", sent))
                await sent.wait()
                call.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await call
                sent = asyncio.Event()
                expiring = stub.UploadDataset(
                    _upload_then_stall(f"expired-{attempt}", sent), timeout=0.2
                )
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await expiring
                assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # Anything the cancelled calls still had under way has run by now.
            await stub.ListDatasets(pb.ListDatasetsRequest())
            for attempt in range(5):
                assert await _missing(stub, f"datasets/cancelled-{attempt}")
                assert await _missing(stub, f"datasets/expired-{attempt}")
            assert await fake.state.stores.datasets.list() == []

    await asyncio.wait_for(scenario(), BOUND)


async def test_pages_and_streamed_messages_stay_under_four_mib() -> None:
    """100 rows of 50 KB were one 5 MB page, past a default client's 4 MiB limit."""

    async def scenario() -> None:
        async with FakeServer() as fake, fake.aio_channel() as channel:
            stub = _stub(channel)
            rows = [_prompt(f"{number:03d}" + "x" * 50_000) for number in range(100)]

            async def upload() -> AsyncIterator[pb.UploadDatasetRequest]:
                yield pb.UploadDatasetRequest(header=pb.UploadDatasetHeader(dataset_id="wide"))
                for start in range(0, 100, 10):
                    chunk = pb.UploadDatasetChunk(rows=rows[start : start + 10])
                    yield pb.UploadDatasetRequest(chunk=chunk)

            await stub.UploadDataset(upload())
            seen: list[int] = []
            token = ""
            while True:
                page = await stub.ListDatasetRows(
                    pb.ListDatasetRowsRequest(dataset="datasets/wide", page_token=token)
                )
                assert page.ByteSize() <= PAGE_BYTES + 1024
                seen.extend(row.index for row in page.rows)
                token = page.next_page_token
                if not token:
                    break
            assert seen == list(range(100))
            streamed: list[int] = []
            async for message in stub.StreamDatasetRows(
                pb.StreamDatasetRowsRequest(dataset="datasets/wide")
            ):
                assert message.ByteSize() <= PAGE_BYTES + 1024
                streamed.extend(row.index for row in message.rows)
            assert streamed == list(range(100))

    await asyncio.wait_for(scenario(), BOUND)


async def test_a_row_over_the_row_limit_is_refused_naming_it() -> None:
    async def scenario() -> None:
        limits = StorageLimits(row_bytes=1000)
        async with FakeServer(limits=limits) as fake, fake.aio_channel() as channel:
            stub = _stub(channel)
            rows = [_prompt("small"), _prompt("y" * 2000)]
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateDataset(pb.CreateDatasetRequest(rows=rows))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "rows[1]" in (caught.value.details() or "")
            assert "at most 1000 bytes" in (caught.value.details() or "")

            async def upload() -> AsyncIterator[pb.UploadDatasetRequest]:
                yield pb.UploadDatasetRequest(header=pb.UploadDatasetHeader())
                yield pb.UploadDatasetRequest(chunk=pb.UploadDatasetChunk(rows=rows))

            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.UploadDataset(upload())
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "chunk.rows[1]" in (caught.value.details() or "")
            assert await fake.state.stores.datasets.list() == []

    await asyncio.wait_for(scenario(), BOUND)


def _quota_subject(error: grpc.aio.AioRpcError) -> str:
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = status_of(error)
    assert status is not None
    failures = []
    for detail in status.details:
        failure = error_details_pb2.QuotaFailure()
        if detail.Unpack(failure):  # False for the other details
            failures.append(failure)
    assert len(failures) == 1
    return failures[0].violations[0].subject


async def test_dataset_rows_bytes_and_resources_have_quotas() -> None:
    """An upload of any size used to be accepted, and a principal could keep any number."""

    async def scenario() -> None:
        limits = StorageLimits(dataset_rows=50, dataset_bytes=5_000, resources_per_principal=2)
        async with FakeServer(limits=limits) as fake, fake.aio_channel() as channel:
            stub = _stub(channel)

            def chunks(count: int, size: int) -> AsyncIterator[pb.UploadDatasetRequest]:
                async def stream() -> AsyncIterator[pb.UploadDatasetRequest]:
                    yield pb.UploadDatasetRequest(header=pb.UploadDatasetHeader(dataset_id="big"))
                    for _ in range(count):
                        rows = [_prompt("z" * size) for _ in range(10)]
                        yield pb.UploadDatasetRequest(chunk=pb.UploadDatasetChunk(rows=rows))

                return stream()

            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.UploadDataset(chunks(6, 1))  # 60 rows
            assert _quota_subject(caught.value) == "datasets/big"
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.UploadDataset(chunks(2, 400))  # 8 KB
            assert _quota_subject(caught.value) == "datasets/big"
            for number in range(2):
                await stub.CreateDataset(pb.CreateDatasetRequest(rows=[_prompt(f"{number}")]))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.CreateDataset(pb.CreateDatasetRequest(rows=[_prompt("third")]))
            assert _quota_subject(caught.value) == "principal:default"
            assert len(await fake.state.stores.datasets.list()) == 2

    await asyncio.wait_for(scenario(), BOUND)
