"""DatasetService servicer: prompt datasets created whole or uploaded in chunks, read back
by page or by stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import grpc
from google.protobuf import empty_pb2

from textgen.server.clock import timestamp
from textgen.server.names import DATASET, GENERATED_ID_LENGTH, name_violations
from textgen.server.rpc.auth import current_principal, find_owned
from textgen.server.rpc.errors import FieldViolation, already_exists, invalid_argument
from textgen.server.rpc.pagination import DEFAULT_DATASET_ROWS, DEFAULT_DATASETS, fetch_page
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord, RowBlock
from textgen.server.validation.dataset_rules import (
    CREATE_DATASET_RULES,
    DATASET_RULES,
    UPLOAD_HEADER_RULES,
)
from textgen.server.validation.prompt_rows import check_prompt_chunk
from textgen.server.validation.rules import ensure, violations
from textgen.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc

# How many random names to try before giving up (a clash is already unlikely).
RANDOM_NAME_ATTEMPTS = 5
STREAM_CHUNK_ROWS = 100


class DatasetServicer(dataset_service_pb2_grpc.DatasetServiceServicer):
    """Serves DatasetService from the dataset store (ServerState.stores.datasets)."""

    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._store = state.stores.datasets

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
        return await self._create(request.dataset_id, principal, request.dataset, [rows])

    async def UploadDataset(
        self,
        request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest],
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.UploadDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        principal = current_principal()
        header, blocks = await self._receive_upload(request_iterator)
        return await self._create(header.dataset_id, principal, header.dataset, blocks)

    async def _receive_upload(
        self, request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest]
    ) -> tuple[dataset_service_pb2.UploadDatasetHeader, list[RowBlock]]:
        # The header and every chunk of an upload stream, checked as they arrive; each
        # chunk's rows become one block, encoded once and checked whole.
        header: dataset_service_pb2.UploadDatasetHeader | None = None
        blocks: list[RowBlock] = []
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
                await self._check_free(header.dataset_id)  # fail early on a taken id
            elif kind != "chunk":
                raise invalid_argument(
                    [FieldViolation("chunk", "every message after the header must be a chunk")]
                )
            else:
                chunk = message.chunk
                encoded = check_prompt_chunk(chunk, "chunk")
                blocks.append(RowBlock(dataset_pb2.Dataset.KIND_PROMPTS, encoded, len(chunk.rows)))
        if header is None:
            raise invalid_argument([FieldViolation("header", "the stream sent no header")])
        if not any(block.count for block in blocks):
            raise invalid_argument([FieldViolation("chunk.rows", "at least one row is required")])
        return header, blocks

    async def _check_free(self, dataset_id: str) -> None:
        # ALREADY_EXISTS when the requested id is taken (creating checks again, atomically).
        name = DATASET.name(dataset_id)
        if dataset_id and await self._store.get(name) is not None:
            raise already_exists(DATASET.type, name)

    async def _create(
        self,
        dataset_id: str,
        principal: str,
        source: dataset_pb2.Dataset,
        rows: Sequence[RowBlock],
    ) -> dataset_pb2.Dataset:
        # Store the dataset with its rows under the requested id (ALREADY_EXISTS when it is
        # taken) or a random one.
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
        await self._find(request.name, "name")
        await self._store.delete(request.name)
        return empty_pb2.Empty()

    async def ListDatasetRows(
        self,
        request: dataset_service_pb2.ListDatasetRowsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.ListDatasetRowsRequest, dataset_service_pb2.ListDatasetRowsResponse
        ],
    ) -> dataset_service_pb2.ListDatasetRowsResponse:
        record = await self._find(request.dataset, "dataset")

        async def fetch(start: int, limit: int) -> list[dataset_pb2.DatasetRow]:
            return await self._store.read_rows(record.name, start, start + limit)

        page = await fetch_page(
            fetch,
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_DATASET_ROWS,
            secret=self._state.page_secret,
            binding={
                "method": "ListDatasetRows",
                "dataset": request.dataset,
                "owner": record.owner,
            },
        )
        return dataset_service_pb2.ListDatasetRowsResponse(
            rows=page.items, next_page_token=page.next_page_token
        )

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
        for start in range(request.start_index, record.dataset.row_count, STREAM_CHUNK_ROWS):
            rows = await self._store.read_rows(record.name, start, start + STREAM_CHUNK_ROWS)
            if not rows:  # deleted meanwhile
                return
            yield dataset_service_pb2.StreamDatasetRowsResponse(rows=rows)
