"""The dataset store: datasets by owner and name, and their rows, appended in blocks and read
by range.

A dataset's rows are never handed out as one list: they are appended in blocks (an upload's
chunks, a batch's results) and read back by index range. Row `i` is the `i`-th row appended;
the store numbers the rows and keeps `Dataset.row_count` equal to how many there are, so an
`update` cannot change that count.

Rows travel in their protobuf encoding (`RowBlock`): an upload chunk becomes a block with one
encode call, without touching its rows one by one, and a durable store can keep the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from textgen.server.storage.table import Table, Versioned
from textgen.v1 import dataset_pb2, dataset_service_pb2

Kind = dataset_pb2.Dataset.Kind

# A block of more rows than this is stored as several, so a read decodes little it does not use.
MAX_BLOCK_ROWS = 1000


class RowBlock:
    """Rows to append, encoded once.

    For a KIND_PROMPTS dataset, `data` is the encoding of an UploadDatasetChunk (field 1:
    repeated DatasetPrompt). For KIND_RESULTS, it is the encoding of a
    StreamDatasetRowsResponse (field 1: repeated DatasetRow) whose rows hold results; their
    `index` is ignored, since the store numbers rows. `count` is the number of rows.
    """

    __slots__ = ("count", "data", "kind")

    def __init__(self, kind: Kind.ValueType, data: bytes, count: int) -> None:
        self.kind = kind
        self.data = data
        self.count = count

    @classmethod
    def of_chunk(cls, chunk: dataset_service_pb2.UploadDatasetChunk) -> RowBlock:
        """An upload chunk's rows as they are (one encode for the whole chunk)."""
        return cls(dataset_pb2.Dataset.KIND_PROMPTS, chunk.SerializeToString(), len(chunk.rows))

    @classmethod
    def of_prompts(cls, prompts: Iterable[dataset_pb2.DatasetPrompt]) -> RowBlock:
        """Prompt rows."""
        return cls.of_chunk(dataset_service_pb2.UploadDatasetChunk(rows=prompts))

    @classmethod
    def of_results(cls, results: Iterable[dataset_pb2.DatasetResult]) -> RowBlock:
        """Result rows."""
        container = dataset_service_pb2.StreamDatasetRowsResponse()
        for result in results:
            container.rows.add().result.CopyFrom(result)
        return cls(
            dataset_pb2.Dataset.KIND_RESULTS, container.SerializeToString(), len(container.rows)
        )

    def split(self, size: int = MAX_BLOCK_ROWS) -> list[RowBlock]:
        """The block as pieces of at most `size` rows, in order (none when it is empty)."""
        if self.count <= size:
            return [self] if self.count else []
        if self.kind == dataset_pb2.Dataset.KIND_RESULTS:
            results = dataset_service_pb2.StreamDatasetRowsResponse.FromString(self.data).rows
            return [
                RowBlock.of_results(row.result for row in results[at : at + size])
                for at in range(0, len(results), size)
            ]
        prompts = dataset_service_pb2.UploadDatasetChunk.FromString(self.data).rows
        return [RowBlock.of_prompts(prompts[at : at + size]) for at in range(0, len(prompts), size)]

    def decode(
        self, first_index: int, start: int = 0, stop: int | None = None
    ) -> list[dataset_pb2.DatasetRow]:
        """The block's rows `start` to `stop` (positions in the block; None: to its end) as
        new DatasetRow messages, numbered as if the block's first row were `first_index`."""
        if self.kind == dataset_pb2.Dataset.KIND_RESULTS:
            container = dataset_service_pb2.StreamDatasetRowsResponse.FromString(self.data)
            rows = list(container.rows[start:stop])
            for index, row in enumerate(rows, first_index + start):
                row.index = index
            return rows
        prompts = dataset_service_pb2.UploadDatasetChunk.FromString(self.data).rows[start:stop]
        return [
            dataset_pb2.DatasetRow(index=index, prompt=prompt)
            for index, prompt in enumerate(prompts, first_index + start)
        ]


def check_kind(kind: int, blocks: Sequence[RowBlock]) -> None:
    """ValueError unless every block is of the dataset's kind."""
    if any(block.kind != kind for block in blocks):
        raise ValueError("a block of rows must be of the dataset's kind")


def pieces(blocks: Sequence[RowBlock], first_index: int) -> list[tuple[int, RowBlock]]:
    """The blocks as a store keeps them: pieces of at most MAX_BLOCK_ROWS rows, each with the
    index of its first row, numbered on from `first_index` (empty blocks are left out)."""
    found: list[tuple[int, RowBlock]] = []
    at = first_index
    for block in blocks:
        for piece in block.split():
            found.append((at, piece))
            at += piece.count
    return found


class RowUsage(NamedTuple):
    """What a dataset's rows take: how many, and their encoded bytes."""

    rows: int
    bytes: int


class DatasetRecord(NamedTuple):
    """A dataset (without its rows) and its owner."""

    dataset: dataset_pb2.Dataset
    owner: str

    @property
    def name(self) -> str:
        """The dataset's name, `datasets/{id}` (unique among its owner's)."""
        return self.dataset.name


class DatasetStore(Table[DatasetRecord], Protocol):
    """Datasets by owner and name, and their rows (see textgen.server.storage.table for
    what is atomic). Deleting a dataset deletes its rows. Rows are found by their dataset's
    owner and name, like the dataset."""

    async def create(self, record: DatasetRecord, rows: Sequence[RowBlock] = ()) -> bool:
        """Insert the dataset with its first rows, unless its owner already has a dataset of
        its name (atomic: the dataset is never seen without these rows); True when inserted."""
        ...

    async def append_rows(self, owner: str, name: str, rows: RowBlock) -> int | None:
        """Append a block of rows to `owner`'s dataset `name`, numbered on from the rows
        already there (atomic: a reader sees all of them or none); the new row count, or None
        when the dataset is missing. The block's kind must be the dataset's."""
        ...

    async def usage(self, owner: str, name: str) -> RowUsage | None:
        """The row count of `owner`'s dataset `name` and the encoded bytes of its rows (the
        sum of its blocks' `data`); None when it is missing."""
        ...

    async def read_rows(
        self, owner: str, name: str, start: int = 0, stop: int | None = None
    ) -> list[dataset_pb2.DatasetRow]:
        """Rows `start` to `stop` (exclusive; None: to the end) of `owner`'s dataset `name`,
        with their index set; fewer (or none) past the end or when it is missing."""
        ...

    async def list(
        self,
        *,
        owner: str | None = None,
        prefix: str = "",
        start: int = 0,
        limit: int | None = None,
    ) -> list[Versioned[DatasetRecord]]:
        """Datasets in creation order that match every filter given: owned by `owner`
        (None: anyone's), named with `prefix`; then the `limit` matches (None: all) from
        match number `start` on."""
        ...
