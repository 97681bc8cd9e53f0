"""DatasetService servicer: prompt datasets created whole or uploaded in chunks, read back
by page or by stream.

An upload is atomic: its dataset is stored, with every row, only once the client has ended
the stream and the call is still live; a cancelled or expired upload stores nothing. What a
dataset may hold is bounded by ServerState.limits (textgen.server.quotas): rows, bytes, the
size of one row and the datasets and tuned models of one principal. Reads are bounded too: a
page or a streamed message carries at most quotas.PAGE_BYTES of rows (and at least one row,
which the row limit keeps below that). Creates that carry a request_id are idempotent
(textgen.server.idempotency).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import grpc
from google.protobuf import empty_pb2
from google.rpc import code_pb2

from textgen.server.clock import timestamp
from textgen.server.names import DATASET, GENERATED_ID_LENGTH, name_violations
from textgen.server.quotas import (
    PAGE_BYTES,
    StorageLimits,
    check_resource_quota,
    quota_exceeded,
)
from textgen.server.rpc.auth import current_principal, find_owned
from textgen.server.rpc.errors import (
    FieldViolation,
    already_exists,
    invalid_argument,
    make_error,
)
from textgen.server.rpc.pagination import (
    DEFAULT_DATASET_ROWS,
    DEFAULT_DATASETS,
    decode_token,
    effective_page_size,
    encode_token,
    fetch_page,
)
from textgen.server.rpc.unknown_fields import received_encoding
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord, RowBlock
from textgen.server.validation.dataset_rules import (
    CREATE_DATASET_RULES,
    DATASET_RULES,
    UPLOAD_HEADER_RULES,
)
from textgen.server.validation.plan import ensure, violations
from textgen.server.validation.prompt_rows import check_prompt_chunk
from textgen.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc

# How many random names to try before giving up (a clash is already unlikely).
RANDOM_NAME_ATTEMPTS = 5
STREAM_CHUNK_ROWS = 100


class DatasetServicer(dataset_service_pb2_grpc.DatasetServiceServicer):
    """Serves DatasetService from the dataset store (ServerState.stores.datasets)."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._store = state.stores.datasets
        self._withdrawing: set[asyncio.Task[bool]] = set()  # deletions under way

    async def CreateDataset(
        self,
        request: dataset_service_pb2.CreateDatasetRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.CreateDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        principal = current_principal()
        ensure(
            violations(request, CREATE_DATASET_RULES),
            violations(request.dataset, DATASET_RULES, "dataset"),
        )
        rows = RowBlock.of_prompts(request.rows)
        tally = _Tally(self._state.limits, DATASET.name(request.dataset_id))
        tally.add(request.rows, rows, "rows")

        async def create() -> dataset_pb2.Dataset:
            return await self._create(request.dataset_id, principal, request.dataset, [rows])

        return await self._state.request_ids.once(
            principal, "CreateDataset", request.request_id, dataset_pb2.Dataset, create
        )

    async def UploadDataset(
        self,
        request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest],
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.UploadDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        principal = current_principal()
        header, blocks = await self._receive_upload(request_iterator, principal)
        await _still_wanted(context)

        made: list[str] = []  # the dataset, when this call (not an earlier one) made it

        async def create() -> dataset_pb2.Dataset:
            dataset = await self._create(header.dataset_id, principal, header.dataset, blocks)
            made.append(dataset.name)
            return dataset

        created = await self._state.request_ids.once(
            principal,
            "UploadDataset",
            header.request_id,
            dataset_pb2.Dataset,
            create,
            field="header.request_id",
        )

        # The client may still go away before the answer reaches it: then the dataset goes.
        def withdraw(
            ended: grpc.aio.ServicerContext[
                dataset_service_pb2.UploadDatasetRequest, dataset_pb2.Dataset
            ],
        ) -> None:
            if ended.cancelled():
                self._withdraw(created.name, principal, header.request_id)

        if made:
            # The typing stubs declare the callback as a class no function matches.
            cast("Any", context).add_done_callback(withdraw)
        return created

    def _withdraw(self, name: str, principal: str, request_id: str) -> None:
        # An upload call that ended cancelled (by the client or its deadline) after its
        # dataset was stored: nobody learnt of the dataset, so it is deleted and its request
        # id forgotten.
        self._state.request_ids.forget(principal, "UploadDataset", request_id)
        task = asyncio.get_running_loop().create_task(self._store.delete(principal, name))
        self._withdrawing.add(task)
        task.add_done_callback(self._withdrawing.discard)

    async def _receive_upload(
        self,
        request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest],
        principal: str,
    ) -> tuple[dataset_service_pb2.UploadDatasetHeader, list[RowBlock]]:
        # The header and every chunk of an upload stream, checked as they arrive; each
        # chunk's rows become one block, encoded once and checked whole.
        header: dataset_service_pb2.UploadDatasetHeader | None = None
        blocks: list[RowBlock] = []
        tally: _Tally | None = None
        async for message in request_iterator:
            kind = message.WhichOneof("payload")
            if header is None:
                if kind != "header":
                    raise invalid_argument(
                        [FieldViolation("header", "the first message must be a header")]
                    )
                header = message.header
                ensure(
                    violations(header, UPLOAD_HEADER_RULES, "header"),
                    violations(header.dataset, DATASET_RULES, "header.dataset"),
                )
                await self._check_free(header.dataset_id, principal)  # fail early if taken
                tally = _Tally(self._state.limits, DATASET.name(header.dataset_id))
            elif kind != "chunk":
                raise invalid_argument(
                    [FieldViolation("chunk", "every message after the header must be a chunk")]
                )
            else:
                assert tally is not None
                chunk = message.chunk
                # The bytes the chunk arrived in, when they can be stored as they are.
                encoded = check_prompt_chunk(chunk, "chunk", received_encoding(message))
                block = RowBlock(dataset_pb2.Dataset.KIND_PROMPTS, encoded, len(chunk.rows))
                tally.add(chunk.rows, block, "chunk.rows")
                blocks.append(block)
        if header is None:
            raise invalid_argument([FieldViolation("header", "the stream sent no header")])
        if not any(block.count for block in blocks):
            raise invalid_argument([FieldViolation("chunk.rows", "at least one row is required")])
        return header, blocks

    async def _check_free(self, dataset_id: str, principal: str) -> None:
        # ALREADY_EXISTS when the caller already has a dataset of the requested id (creating
        # checks again, atomically); other principals' datasets are no concern of its.
        name = DATASET.name(dataset_id)
        if dataset_id and await self._store.get(principal, name) is not None:
            raise already_exists(DATASET.type, name)

    async def _create(
        self,
        dataset_id: str,
        principal: str,
        source: dataset_pb2.Dataset,
        rows: Sequence[RowBlock],
    ) -> dataset_pb2.Dataset:
        # Store the dataset with its rows under the requested id (ALREADY_EXISTS when the
        # principal already has it) or a random one, within the principal's quota.
        await check_resource_quota(self._state.stores, self._state.limits, principal)
        dataset = dataset_pb2.Dataset(
            display_name=source.display_name,
            description=source.description,
            labels=source.labels,
            kind=dataset_pb2.Dataset.KIND_PROMPTS,
            create_time=timestamp(self._state.clock),
        )
        attempts = 1 if dataset_id else RANDOM_NAME_ATTEMPTS
        for _ in range(attempts):
            dataset.name = DATASET.name(dataset_id or self._state.ids.suffix(GENERATED_ID_LENGTH))
            if await self._store.create(DatasetRecord(dataset, principal), rows):
                dataset.row_count = sum(block.count for block in rows)
                return dataset
        raise already_exists(DATASET.type, dataset.name)

    async def _find(self, name: str, field: str) -> DatasetRecord:
        # The caller's dataset by name, after checking the name's syntax.
        ensure(name_violations(name, field, DATASET))
        return (await find_owned(self._store, name, current_principal(), DATASET.type)).record

    async def GetDataset(
        self,
        request: dataset_service_pb2.GetDatasetRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.GetDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        return (await self._find(request.name, "name")).dataset

    async def ListDatasets(
        self,
        request: dataset_service_pb2.ListDatasetsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.ListDatasetsRequest, dataset_service_pb2.ListDatasetsResponse
        ],
    ) -> dataset_service_pb2.ListDatasetsResponse:
        principal = current_principal()

        async def fetch(start: int, limit: int) -> list[dataset_pb2.Dataset]:
            found = await self._store.list(owner=principal, start=start, limit=limit)
            return [versioned.record.dataset for versioned in found]

        page = await fetch_page(
            fetch,
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_DATASETS,
            secret=self._state.page_secret,
            binding={"method": "ListDatasets", "owner": principal},
        )
        return dataset_service_pb2.ListDatasetsResponse(
            datasets=page.items, next_page_token=page.next_page_token
        )

    async def DeleteDataset(
        self,
        request: dataset_service_pb2.DeleteDatasetRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.DeleteDatasetRequest, empty_pb2.Empty
        ],
    ) -> empty_pb2.Empty:
        record = await self._find(request.name, "name")
        await self._store.delete(record.owner, record.name)
        return empty_pb2.Empty()

    async def ListDatasetRows(
        self,
        request: dataset_service_pb2.ListDatasetRowsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.ListDatasetRowsRequest, dataset_service_pb2.ListDatasetRowsResponse
        ],
    ) -> dataset_service_pb2.ListDatasetRowsResponse:
        record = await self._find(request.dataset, "dataset")
        binding = {"method": "ListDatasetRows", "dataset": request.dataset, "owner": record.owner}
        secret = self._state.page_secret
        size = effective_page_size(request.page_size, DEFAULT_DATASET_ROWS)
        start = decode_token(request.page_token, secret=secret, binding=binding)
        # One more row than the page holds tells whether another page follows.
        rows = await self._store.read_rows(record.owner, record.name, start, start + size + 1)
        page = fitting(rows[:size])
        more = len(page) < len(rows)
        next_token = encode_token(start + len(page), secret=secret, binding=binding) if more else ""
        return dataset_service_pb2.ListDatasetRowsResponse(rows=page, next_page_token=next_token)

    async def StreamDatasetRows(
        self,
        request: dataset_service_pb2.StreamDatasetRowsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.StreamDatasetRowsRequest,
            dataset_service_pb2.StreamDatasetRowsResponse,
        ],
    ) -> AsyncIterator[dataset_service_pb2.StreamDatasetRowsResponse]:
        if request.start_index < 0:
            raise invalid_argument([FieldViolation("start_index", "must not be negative")])
        record = await self._find(request.dataset, "dataset")
        start = request.start_index
        while start < record.dataset.row_count:
            stop = start + STREAM_CHUNK_ROWS
            rows = await self._store.read_rows(record.owner, record.name, start, stop)
            if not rows:  # deleted meanwhile
                return
            page = fitting(rows)
            yield dataset_service_pb2.StreamDatasetRowsResponse(rows=page)
            start += len(page)


def fitting(rows: Sequence[dataset_pb2.DatasetRow]) -> list[dataset_pb2.DatasetRow]:
    """The first of `rows` that fit in one message of PAGE_BYTES, and always the first row
    (which the row limit keeps below PAGE_BYTES)."""
    taken: list[dataset_pb2.DatasetRow] = []
    total = 0
    for row in rows:
        size = row.ByteSize() + _FRAMING
        if taken and total + size > PAGE_BYTES:
            break
        taken.append(row)
        total += size
    return taken


# The most bytes a repeated field adds to each row's own: a tag and a length.
_FRAMING = 6


class _Tally:
    # The rows and bytes of one dataset being created, against the limits.

    def __init__(self, limits: StorageLimits, name: str) -> None:
        self.limits, self.name = limits, name
        self.rows = 0
        self.bytes = 0

    def add(self, rows: Sequence[dataset_pb2.DatasetPrompt], block: RowBlock, field: str) -> None:
        """Count a block; INVALID_ARGUMENT for a row over the row limit, RESOURCE_EXHAUSTED
        when the dataset would pass its row or byte quota."""
        limit = self.limits.row_bytes
        if len(block.data) > limit:  # only then can one row be too large
            ensure(
                [
                    FieldViolation(
                        f"{field}[{offset}]",
                        f"row {self.rows + offset} is {size} bytes; a row may be at most "
                        f"{limit} bytes",
                    )
                    for offset, row in enumerate(rows)
                    if (size := row.ByteSize()) > limit
                ]
            )
        self.rows += block.count
        self.bytes += len(block.data)
        if self.rows > self.limits.dataset_rows:
            raise quota_exceeded(
                self.name, f"a dataset may hold at most {self.limits.dataset_rows} rows"
            )
        if self.bytes > self.limits.dataset_bytes:
            raise quota_exceeded(
                self.name, f"a dataset may hold at most {self.limits.dataset_bytes} bytes of rows"
            )


async def _still_wanted(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    # grpc.aio ends an upload stream the same way whether the client finished it or the call
    # was cancelled (by the client, or by its deadline): the failed read counts as the end.
    # But by then gRPC's core knows the call is over, so the next operation on it fails for
    # certain: sending the (empty) initial metadata now raises CancelledError here for a
    # call that is gone, and costs nothing more for one that is still live. Waiting a turn of
    # the loop instead for the cancellation to arrive left about one in twelve cancelled
    # uploads stored.
    await context.send_initial_metadata(())
    if context.cancelled():
        raise make_error(code_pb2.CANCELLED, "The upload was cancelled: nothing was stored")
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0:
        raise make_error(
            code_pb2.DEADLINE_EXCEEDED, "The upload's deadline passed: nothing was stored"
        )
