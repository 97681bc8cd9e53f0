"""DatasetService servicer: prompt datasets created whole or uploaded in chunks, read back
by page or by stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import grpc
from google.protobuf import empty_pb2

from textgen.server.clock import timestamp
from textgen.server.rpc.aio_types import Context
from textgen.server.rpc.auth import current_principal, find_owned
from textgen.server.rpc.errors import FieldViolation, already_exists, invalid_argument
from textgen.server.rpc.pagination import DEFAULT_DATASET_ROWS, DEFAULT_DATASETS, paginate
from textgen.server.state import DatasetRecord, ServerState
from textgen.server.validation.rules import (
    DATASET_ID_RULE,
    DATASET_MAX_ROWS,
    DATASET_NAME,
    DATASET_RULES,
    ROW_RULES,
    Rule,
    count_between,
    ensure,
    name_violations,
    violations,
)
from textgen.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc

DATASET_TYPE = "textgen.dev/Dataset"
NAME_PREFIX = "datasets/"
RANDOM_ID_LENGTH = 12
STREAM_CHUNK_ROWS = 100

# `dataset` only carries optional fields, so an absent one is read as empty.
CREATE_RULES = [
    DATASET_ID_RULE,
    Rule(
        "rows",
        count_between(1, DATASET_MAX_ROWS),
        f"between 1 and {DATASET_MAX_ROWS} rows are required",
    ),
    *ROW_RULES,
]
HEADER_RULES = [DATASET_ID_RULE]


def _name_violations(name: str, field: str) -> list[FieldViolation]:
    return name_violations(name, field, [DATASET_NAME], "`datasets/{dataset}`")


class DatasetServicer(dataset_service_pb2_grpc.DatasetServiceServicer):
    """Serves DatasetService from ServerState.datasets."""

    def __init__(self, state: ServerState) -> None:
        self._state = state

    async def CreateDataset(
        self,
        request: dataset_service_pb2.CreateDatasetRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.CreateDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        principal = current_principal()
        ensure(
            violations(request, CREATE_RULES), violations(request.dataset, DATASET_RULES, "dataset")
        )
        name = self._claim_name(request.dataset_id)
        return self._store(name, principal, request.dataset, request.rows)

    async def UploadDataset(
        self,
        request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest],
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.UploadDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        principal = current_principal()
        header, rows = await self._receive_upload(request_iterator)
        name = self._claim_name(header.dataset_id)
        return self._store(name, principal, header.dataset, rows)

    async def _receive_upload(
        self, request_iterator: AsyncIterator[dataset_service_pb2.UploadDatasetRequest]
    ) -> tuple[dataset_service_pb2.UploadDatasetHeader, list[dataset_pb2.DatasetPrompt]]:
        # The header and every row of an upload stream, validated as they arrive.
        header: dataset_service_pb2.UploadDatasetHeader | None = None
        rows: list[dataset_pb2.DatasetPrompt] = []
        async for message in request_iterator:
            kind = message.WhichOneof("payload")
            if header is None:
                if kind != "header":
                    raise invalid_argument(
                        [FieldViolation("header", "the first message must be a header")]
                    )
                header = message.header
                ensure(
                    violations(header, HEADER_RULES, "header"),
                    violations(header.dataset, DATASET_RULES, "header.dataset"),
                )
                self._claim_name(header.dataset_id)  # fail early on a taken id
            elif kind != "chunk":
                raise invalid_argument(
                    [FieldViolation("chunk", "every message after the header must be a chunk")]
                )
            else:
                ensure(violations(message.chunk, ROW_RULES, "chunk"))
                rows.extend(message.chunk.rows)
        if header is None:
            raise invalid_argument([FieldViolation("header", "the stream sent no header")])
        if not rows:
            raise invalid_argument([FieldViolation("chunk.rows", "at least one row is required")])
        return header, rows

    def _claim_name(self, dataset_id: str) -> str:
        # The new dataset's name; ALREADY_EXISTS when the requested id is taken.
        if not dataset_id:
            return NAME_PREFIX + self._state.ids.suffix(RANDOM_ID_LENGTH)
        name = NAME_PREFIX + dataset_id
        if name in self._state.datasets:
            raise already_exists(DATASET_TYPE, name)
        return name

    def _store(
        self,
        name: str,
        principal: str,
        source: dataset_pb2.Dataset,
        prompts: Sequence[dataset_pb2.DatasetPrompt],
    ) -> dataset_pb2.Dataset:
        dataset = dataset_pb2.Dataset(
            name=name,
            display_name=source.display_name,
            description=source.description,
            labels=source.labels,
            kind=dataset_pb2.Dataset.KIND_PROMPTS,
            row_count=len(prompts),
            create_time=timestamp(self._state.clock),
        )
        rows = [dataset_pb2.DatasetRow(index=i, prompt=row) for i, row in enumerate(prompts)]
        self._state.datasets[name] = DatasetRecord(dataset, principal, rows)
        return dataset

    def _find(self, name: str, field: str, context: Context) -> DatasetRecord:
        principal = current_principal()
        ensure(_name_violations(name, field))
        return find_owned(self._state.datasets, name, principal, DATASET_TYPE)

    async def GetDataset(
        self,
        request: dataset_service_pb2.GetDatasetRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.GetDatasetRequest, dataset_pb2.Dataset
        ],
    ) -> dataset_pb2.Dataset:
        return self._find(request.name, "name", context).dataset

    async def ListDatasets(
        self,
        request: dataset_service_pb2.ListDatasetsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.ListDatasetsRequest, dataset_service_pb2.ListDatasetsResponse
        ],
    ) -> dataset_service_pb2.ListDatasetsResponse:
        principal = current_principal()
        owned = [r.dataset for r in self._state.datasets.values() if r.owner == principal]
        page = paginate(
            owned,
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
        self._find(request.name, "name", context)
        del self._state.datasets[request.name]
        return empty_pb2.Empty()

    async def ListDatasetRows(
        self,
        request: dataset_service_pb2.ListDatasetRowsRequest,
        context: grpc.aio.ServicerContext[
            dataset_service_pb2.ListDatasetRowsRequest, dataset_service_pb2.ListDatasetRowsResponse
        ],
    ) -> dataset_service_pb2.ListDatasetRowsResponse:
        record = self._find(request.dataset, "dataset", context)
        page = paginate(
            record.rows,
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
        record = self._find(request.dataset, "dataset", context)
        rows = record.rows
        for start in range(request.start_index, len(rows), STREAM_CHUNK_ROWS):
            chunk = rows[start : start + STREAM_CHUNK_ROWS]
            yield dataset_service_pb2.StreamDatasetRowsResponse(rows=chunk)
