"""`BatchJob` and `AsyncBatchJob`: a batch completion operation, its task status and results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import ParamSpec

from google.longrunning import operations_pb2

from textgen import errors
from textgen._calls import Paged, Plan, Progress, Streamed, single, streamed_items
from textgen._shells import AsyncRunner, SyncRunner
from textgen.operation import AsyncOperation, Operation, ProgressCallback, _OperationState
from textgen.pagers import AsyncPager, Pager
from textgen.progress import ProgressRenderer
from textgen.resources._base import Bound
from textgen.resources.datasets import STREAM_DATASET_ROWS, dataset_name
from textgen.rows import ResultRow, from_row
from textgen.v1 import dataset_service_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

__all__ = ["AsyncBatchJob", "BatchJob", "BatchStatus"]

P = ParamSpec("P")
Response = batch_pb2.BatchCompletionResponse
Metadata = batch_pb2.BatchCompletionMetadata
BatchStatus = batch_pb2.BatchInferenceTaskStatus
NAME_PREFIX = "operations/"


def batch_operation_name(name_or_task_id: str) -> str:
    """`abc` -> `operations/abc`; an operation name is kept."""
    if name_or_task_id.startswith(NAME_PREFIX):
        return name_or_task_id
    return NAME_PREFIX + name_or_task_id


def batch_progress(metadata: Metadata) -> Progress:
    """Batch metadata as a progress bar: completed batches of total batches."""
    return Progress(
        float(metadata.completed_batches), float(metadata.total_batches) or None, "batches"
    )


def _result_rows(reply: dataset_service_pb2.StreamDatasetRowsResponse) -> list[ResultRow]:
    rows = [from_row(row) for row in reply.rows]
    if not all(isinstance(row, ResultRow) for row in rows):
        raise errors.UsageError("the batch's result dataset holds prompt rows, not results")
    return [row for row in rows if isinstance(row, ResultRow)]


class _BatchState(_OperationState[Response, Metadata]):
    """What both handles read from the operation: task id, status, batch counts, results."""

    @property
    def task_id(self) -> str:
        """The batch task's id (the operation is `operations/{task_id}`)."""
        metadata = self.metadata
        if metadata is not None and metadata.task_id:
            return metadata.task_id
        return self.name.removeprefix(NAME_PREFIX)

    @property
    def status(self) -> batch_pb2.BatchInferenceTaskStatus.ValueType:
        """The task status as last seen: CREATED, PENDING, IN_PROGRESS, COMPLETED, FAILED or
        CANCELED (a `BatchStatus` value; `BatchStatus.Name(job.status)` spells it)."""
        metadata = self.metadata
        if metadata is not None and metadata.task_status:
            return metadata.task_status
        if self.done and self.error is None:
            return self._outcome().task_status
        return BatchStatus.BATCH_INFERENCE_TASK_STATUS_UNSPECIFIED

    @property
    def completed_batches(self) -> int:
        """Batches of rows answered so far."""
        metadata = self.metadata
        return metadata.completed_batches if metadata is not None else 0

    @property
    def total_batches(self) -> int:
        """Batches of rows in the task."""
        metadata = self.metadata
        return metadata.total_batches if metadata is not None else 0

    @property
    def result_dataset(self) -> str | None:
        """The result dataset's name (`datasets/x`) once the task completed, else None."""
        if not self.done or self.error is not None:
            return None
        return dataset_name(self._outcome().result_dataset_id)

    def _results_plan(self) -> Streamed[ResultRow]:
        if not self.done:
            raise errors.UsageError(f"{self.name} is still running: wait() for it first")
        request = dataset_service_pb2.StreamDatasetRowsRequest(
            dataset=dataset_name(self._outcome().result_dataset_id)
        )
        return streamed_items(STREAM_DATASET_ROWS, request, _result_rows)

    def __repr__(self) -> str:
        status = BatchStatus.Name(self.status)
        done, total = self.completed_batches, self.total_batches
        return f"<{type(self).__name__} {self.name} {status} {done}/{total} batches>"


class BatchJob(_BatchState, Operation[Response, Metadata]):
    """A batch completion task, for blocking code: an Operation with batch views.

    `wait()` returns the job itself; `result()` the BatchCompletionResponse; `results()`
    iterates the result rows (`textgen.rows.ResultRow`) in input order, each holding its
    input and either a completion or a google.rpc.Status error.
    """

    def __init__(self, runner: SyncRunner, proto: operations_pb2.Operation) -> None:
        Operation.__init__(self, runner, proto, Response, Metadata, batch_progress)

    def wait(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[Metadata] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> BatchJob:
        """Block until the task ends (OperationTimeout after `timeout` seconds).

        on_progress gets each new BatchCompletionMetadata; progress=True draws a bar of
        completed batches of total batches.
        """
        super().wait(timeout, on_progress=on_progress, progress=progress)
        return self

    def results(self) -> Iterator[ResultRow]:
        """The result rows in input order, streamed (OperationError if the task failed)."""
        return self._runner.stream(self._results_plan())


class AsyncBatchJob(_BatchState, AsyncOperation[Response, Metadata]):
    """A batch completion task, for asyncio code; see BatchJob."""

    def __init__(self, runner: AsyncRunner, proto: operations_pb2.Operation) -> None:
        AsyncOperation.__init__(self, runner, proto, Response, Metadata, batch_progress)

    async def wait(
        self,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback[Metadata] | None = None,
        progress: bool | ProgressRenderer = False,
    ) -> AsyncBatchJob:
        """Wait until the task ends; see BatchJob.wait."""
        await super().wait(timeout, on_progress=on_progress, progress=progress)
        return self

    def results(self) -> AsyncIterator[ResultRow]:
        """The result rows in input order: `async for row in job.results()` (no await)."""
        return self._runner.stream(self._results_plan())


# Binders: a method whose plan yields the batch's Operation returns a job handle.


def sync_job(spec: Callable[P, Plan[operations_pb2.Operation]]) -> Bound[SyncRunner, P, BatchJob]:
    """A method that starts or finds a batch task and returns its BatchJob."""
    return Bound(spec, lambda runner, plan: BatchJob(runner, runner.run(single(plan))))


def async_job(
    spec: Callable[P, Plan[operations_pb2.Operation]],
) -> Bound[AsyncRunner, P, Awaitable[AsyncBatchJob]]:
    """A coroutine method that starts or finds a batch task and returns its AsyncBatchJob."""

    async def adapt(runner: AsyncRunner, plan: Plan[operations_pb2.Operation]) -> AsyncBatchJob:
        return AsyncBatchJob(runner, await runner.run(single(plan)))

    return Bound(spec, adapt)


def sync_jobs(
    spec: Callable[P, Paged[operations_pb2.Operation]],
) -> Bound[SyncRunner, P, Iterator[BatchJob]]:
    """A method that iterates BatchJob handles, fetching pages as the loop goes."""

    def adapt(runner: SyncRunner, plan: Paged[operations_pb2.Operation]) -> Iterator[BatchJob]:
        return (BatchJob(runner, proto) for proto in Pager(runner, plan))

    return Bound(spec, adapt)


def async_jobs(
    spec: Callable[P, Paged[operations_pb2.Operation]],
) -> Bound[AsyncRunner, P, AsyncIterator[AsyncBatchJob]]:
    """A method that iterates AsyncBatchJob handles with `async for` (no await)."""

    async def jobs(
        runner: AsyncRunner, plan: Paged[operations_pb2.Operation]
    ) -> AsyncIterator[AsyncBatchJob]:
        async for proto in AsyncPager(runner, plan):
            yield AsyncBatchJob(runner, proto)

    return Bound(spec, jobs)
