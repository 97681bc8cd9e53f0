"""`client.datasets`: DatasetService -- prompt datasets created whole or uploaded, read back."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping

from google.protobuf import empty_pb2

from textgen._calls import (
    Call,
    Paged,
    Program,
    Streamed,
    call,
    method,
    paged,
    streamed_items,
    upload,
)
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import (
    Resource,
    async_call,
    async_paged,
    async_stream,
    sync_call,
    sync_paged,
    sync_stream,
)
from textgen.resources._request_ids import new_request_id
from textgen.rows import PromptInput, Row, from_row, jsonl_prompts, to_prompt
from textgen.v1 import dataset_pb2, dataset_service_pb2

pb = dataset_service_pb2
SERVICE = "textgen.v1.DatasetService"
# A create carries a fresh request_id, so the server answers a resent one with the dataset
# it made the first time (AIP-155). An upload streams its rows once and is never resent.
CREATE_DATASET = method(
    SERVICE, "CreateDataset", pb.CreateDatasetRequest, dataset_pb2.Dataset, idempotent=True
)
UPLOAD_DATASET = method(
    SERVICE,
    "UploadDataset",
    pb.UploadDatasetRequest,
    dataset_pb2.Dataset,
    idempotent=False,
    client_streaming=True,
)
GET_DATASET = method(
    SERVICE, "GetDataset", pb.GetDatasetRequest, dataset_pb2.Dataset, idempotent=True
)
LIST_DATASETS = method(
    SERVICE, "ListDatasets", pb.ListDatasetsRequest, pb.ListDatasetsResponse, idempotent=True
)
# A resent delete that already worked would answer NOT_FOUND.
DELETE_DATASET = method(
    SERVICE, "DeleteDataset", pb.DeleteDatasetRequest, empty_pb2.Empty, idempotent=False
)
STREAM_DATASET_ROWS = method(
    SERVICE,
    "StreamDatasetRows",
    pb.StreamDatasetRowsRequest,
    pb.StreamDatasetRowsResponse,
    idempotent=True,
    streaming=True,
)

CREATE_LIMIT = 1000  # the most rows one CreateDataset takes; more are uploaded in chunks
CHUNK_ROWS = 500  # rows per UploadDatasetChunk ...
CHUNK_BYTES = 1 << 20  # ... or fewer, to keep each message under about 1 MiB
NAME_PREFIX = "datasets/"


def dataset_name(name: str) -> str:
    """`x` -> `datasets/x`; `datasets/x` is kept."""
    return name if name.startswith(NAME_PREFIX) else NAME_PREFIX + name


def dataset_id(name: str) -> str:
    """`datasets/x` -> `x`; a bare id is kept."""
    return name.removeprefix(NAME_PREFIX)


def _header(
    display_name: str | None,
    description: str | None,
    dataset_id: str | None,
    labels: Mapping[str, str] | None,
    request_id: str | None = None,
) -> pb.UploadDatasetHeader:
    dataset = dataset_pb2.Dataset(
        display_name=display_name or "", description=description or "", labels=labels or {}
    )
    return pb.UploadDatasetHeader(
        dataset=dataset, dataset_id=dataset_id or "", request_id=new_request_id(request_id)
    )


def _chunks(prompts: Iterable[dataset_pb2.DatasetPrompt]) -> Iterator[pb.UploadDatasetChunk]:
    chunk = pb.UploadDatasetChunk()
    size = 0
    for prompt in prompts:
        row_size = prompt.ByteSize()
        if chunk.rows and (len(chunk.rows) >= CHUNK_ROWS or size + row_size > CHUNK_BYTES):
            yield chunk
            chunk, size = pb.UploadDatasetChunk(), 0
        chunk.rows.append(prompt)
        size += row_size
    if chunk.rows:
        yield chunk


def _upload_requests(
    header: pb.UploadDatasetHeader, prompts: Iterable[dataset_pb2.DatasetPrompt]
) -> Iterator[pb.UploadDatasetRequest]:
    """The UploadDataset stream: the header, then the rows in chunks, produced lazily."""
    yield pb.UploadDatasetRequest(header=header)
    for chunk in _chunks(prompts):
        yield pb.UploadDatasetRequest(chunk=chunk)


def _create(
    rows: Iterable[PromptInput], header: pb.UploadDatasetHeader
) -> Program[dataset_pb2.Dataset]:
    remaining = iter(rows)
    first = [to_prompt(row) for row in itertools.islice(remaining, CREATE_LIMIT + 1)]
    if len(first) <= CREATE_LIMIT:
        request = pb.CreateDatasetRequest(
            dataset=header.dataset,
            dataset_id=header.dataset_id,
            rows=first,
            request_id=header.request_id,
        )
        created: dataset_pb2.Dataset = yield call(CREATE_DATASET, request)
        return created
    prompts = itertools.chain(first, (to_prompt(row) for row in remaining))
    uploaded: dataset_pb2.Dataset = yield upload(UPLOAD_DATASET, _upload_requests(header, prompts))
    return uploaded


def _create_from_file(
    path: str | os.PathLike[str], header: pb.UploadDatasetHeader
) -> Program[dataset_pb2.Dataset]:
    with open(path, encoding="utf-8") as lines:  # open while the upload reads it
        prompts = jsonl_prompts(lines, os.fspath(path))
        created: dataset_pb2.Dataset = yield upload(
            UPLOAD_DATASET, _upload_requests(header, prompts)
        )
    return created


def _ignore(_: object) -> None:
    return None


class DatasetCalls:
    """Each DatasetService call as a plan; `Datasets` and `AsyncDatasets` run them."""

    @staticmethod
    def create(
        rows: Iterable[PromptInput],
        *,
        display_name: str | None = None,
        description: str | None = None,
        dataset_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Program[dataset_pb2.Dataset]:
        """A prompt dataset from rows (see `textgen.rows`: strings, message lists, dicts).

        Up to 1000 rows go in one CreateDataset; more are streamed with UploadDataset in
        chunks of at most 500 rows, read from `rows` as they are sent (a generator works).
        The request carries `request_id` (a fresh UUID4 unless given): the server answers
        a repeat with the dataset it made first.
        """
        header = _header(display_name, description, dataset_id, labels, request_id)
        return _create(rows, header)

    @staticmethod
    def create_from_jsonl(
        path: str | os.PathLike[str],
        *,
        display_name: str | None = None,
        description: str | None = None,
        dataset_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> Program[dataset_pb2.Dataset]:
        """A prompt dataset from a JSONL file, streamed up with UploadDataset as it is read.

        Each line is `{"text": ...}`, `{"messages": [{"role": ..., "content": ...}]}` or a
        JSON string. A bad line raises textgen.rows.JsonlError (a ValueError) naming its line
        number, and the upload is cancelled: no dataset is created.
        """
        header = _header(display_name, description, dataset_id, labels, request_id)
        return _create_from_file(path, header)

    @staticmethod
    def get(name: str) -> Call[dataset_pb2.Dataset]:
        """One dataset, by name (`datasets/x` or just `x`)."""
        return call(GET_DATASET, pb.GetDatasetRequest(name=dataset_name(name)))

    @staticmethod
    def list_datasets(*, page_size: int | None = None) -> Paged[dataset_pb2.Dataset]:
        """The caller's datasets (prompts and batch results), a page at a time."""
        request = pb.ListDatasetsRequest(page_size=page_size or 0)
        return paged(LIST_DATASETS, request, lambda page: page.datasets)

    @staticmethod
    def read(name: str, *, start_index: int = 0) -> Streamed[Row]:
        """Every row from `start_index` on, in order, streamed with StreamDatasetRows.

        Rows of a prompt dataset are `textgen.rows.PromptRow`; rows of a batch's result
        dataset are `textgen.rows.ResultRow` (input, then completion or error). The stored
        `DatasetRow` proto is at `.raw`.
        """
        request = pb.StreamDatasetRowsRequest(dataset=dataset_name(name), start_index=start_index)
        return streamed_items(
            STREAM_DATASET_ROWS, request, lambda reply: [from_row(row) for row in reply.rows]
        )

    @staticmethod
    def delete(name: str) -> Call[None]:
        """Delete a dataset."""
        request = pb.DeleteDatasetRequest(name=dataset_name(name))
        return call(DELETE_DATASET, request, _ignore)


c = DatasetCalls


class Datasets(Resource[SyncRunner]):
    """Datasets (blocking). Every method is described in `DatasetCalls`."""

    create = sync_call(c.create)
    create_from_jsonl = sync_call(c.create_from_jsonl)
    get = sync_call(c.get)
    list = sync_paged(c.list_datasets)
    read = sync_stream(c.read)
    delete = sync_call(c.delete)


class AsyncDatasets(Resource[AsyncRunner]):
    """Datasets (asyncio): await calls; `async for` over list and read needs no await."""

    create = async_call(c.create)
    create_from_jsonl = async_call(c.create_from_jsonl)
    get = async_call(c.get)
    list = async_paged(c.list_datasets)
    read = async_stream(c.read)
    delete = async_call(c.delete)
