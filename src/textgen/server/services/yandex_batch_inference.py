"""Yandex's BatchInferenceService over our batch operations: Describe, List, Cancel, Delete.

A batch completion task (started by Yandex's Completion or by ours) is a
`BatchInferenceTask` (textgen.yandex_batch) whose task_id is the task id our
BatchCompletionMetadata carries, the id of its operation `operations/{task_id}`. Nothing is
stored for it beyond that operation and the result dataset its job writes; a task is
described from them:

- status: the metadata's task status while the operation runs; once it is done, COMPLETED
  with a response, CANCELED with error CANCELLED, FAILED with any other error (whose Status
  is `errors.status`);
- created_by, created_at: the operation's owner and creation time; finished_at: when the
  operation was done; started_at: the creation time too, once the task is IN_PROGRESS or
  has finished batches (the emulator queues nothing: a task's job starts when it is created,
  though a test pacer may hold it between stages);
- source_dataset_id and model_uri: from the labels the job puts on its result dataset, so a
  cancelled task, whose result dataset goes with its partial rows, has neither;
  result_dataset_id once the task is COMPLETED;
- folder_id: the emulator has no folders (a principal's tasks are the same in every
  folder), so it is the folder a List names, else the call's `x-folder-id` header, else
  empty; model_uri is `gpt://<folder>/<model>/latest` when a folder is known, else our
  `models/<model>` name (which the Yandex Completion accepts too). The embedded
  completion_request holds the model URI and source dataset id.

Describe reads the task as a poll (a test pacer may let it advance, as OperationService.Get
does). List pages the caller's tasks in creation order (rpc/pagination.py, tokens bound to
the folder and status filter), with the deprecated `status` filter applied. Cancel is our
CancelOperation. Delete forgets a finished task (its result dataset stays, a dataset of the
caller's own) and refuses a running one with FAILED_PRECONDITION.

Errors: an empty or malformed task id and an empty folder_id are INVALID_ARGUMENT naming the
field; a task that is missing, someone else's, or an operation that is no batch task (a
tuning job's) is NOT_FOUND with a ResourceInfo naming the task.
"""

from __future__ import annotations

import re
from typing import Any, cast

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2

from textgen import yandex_batch
from textgen.server.lro.operations import Operation, Operations
from textgen.server.names import DATASET, OPERATIONS, batch_operation_name
from textgen.server.rpc.aio_types import Context
from textgen.server.rpc.auth import current_principal
from textgen.server.rpc.errors import (
    FieldViolation,
    ServiceError,
    failed_precondition,
    invalid_argument,
    not_found,
)
from textgen.server.rpc.pagination import DEFAULT_OPERATIONS, paginate
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord, StoredOperation
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.yandex_operation import operation_id

TASK_TYPE = "yandex.cloud.ai.batch_inference.v1.BatchInferenceTask"
FOLDER_HEADER = "x-folder-id"
_TASK_ID = re.compile(r"[A-Za-z0-9_-]+")
_METADATA_TYPE = ".BatchCompletionMetadata"
STATUS = yandex_batch.STATUS
_STARTED = frozenset({STATUS["IN_PROGRESS"], STATUS["COMPLETED"]})


def batch_metadata(operation: Operation) -> batch_pb2.BatchCompletionMetadata | None:
    """The batch metadata of a batch task's operation (packed under our type URL or a
    flavour's); None for any other operation."""
    if not operation.metadata.type_url.endswith(_METADATA_TYPE):
        return None
    return batch_pb2.BatchCompletionMetadata.FromString(operation.metadata.value)


def task_status(operation: Operation, metadata: batch_pb2.BatchCompletionMetadata) -> int:
    """The task's status, BatchInferenceTask.Status (see the module docstring)."""
    if not operation.done:
        return metadata.task_status or STATUS["CREATED"]
    if operation.WhichOneof("result") == "response":
        return STATUS["COMPLETED"]
    if operation.error.code == code_pb2.CANCELLED:
        return STATUS["CANCELED"]
    return STATUS["FAILED"]


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


def model_uri(model: str, folder: str) -> str:
    """`models/x` as `gpt://<folder>/x/latest`, or as it is when no folder is known."""
    if not folder or not model.startswith("models/"):
        return model
    return f"gpt://{folder}/{model.removeprefix('models/')}/latest"


def describe_task(
    stored: StoredOperation,
    metadata: batch_pb2.BatchCompletionMetadata,
    results: DatasetRecord | None,
    folder: str,
) -> Message:
    """The task of a batch operation as a BatchInferenceTask (see the module docstring);
    `results` is its result dataset, when it is still there."""
    operation = stored.operation
    status = task_status(operation, metadata)
    task: Any = yandex_batch.BatchInferenceTask(
        task_id=metadata.task_id,
        operation_id=operation_id(operation.name),
        folder_id=folder,
        status=status,
        created_by=stored.owner,
        created_at=_timestamp(stored.created_at),
    )
    if status in _STARTED or (operation.done and metadata.completed_batches > 0):
        task.started_at.CopyFrom(_timestamp(stored.created_at))
    if operation.done:
        task.finished_at.CopyFrom(_timestamp(stored.modified_at))
    if operation.WhichOneof("result") == "error":
        task.errors.status.CopyFrom(operation.error)
    if results is not None:
        labels = results.dataset.labels
        task.source_dataset_id = labels.get("source_dataset", "")
        task.model_uri = model_uri(labels.get("model", ""), folder)
        if status == STATUS["COMPLETED"]:
            task.result_dataset_id = DATASET.id_of(results.dataset.name)
    task.completion_request.model_uri = task.model_uri
    task.completion_request.source_dataset_id = task.source_dataset_id
    return cast("Message", task)


def _folder_header(context: Context) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == FOLDER_HEADER and isinstance(value, str):
            return value
    return ""


def _task_name(task_id: str) -> str:
    if not task_id:
        raise invalid_argument([FieldViolation("task_id", "is required")])
    if _TASK_ID.fullmatch(task_id) is None:
        raise invalid_argument(
            [
                FieldViolation(
                    "task_id",
                    f"must be a batch task id (letters, digits, - and _), not {task_id!r}",
                )
            ]
        )
    return batch_operation_name(task_id)


class BatchInferenceServicer:
    """Describe, List, Cancel and Delete of the caller's batch tasks (see the module
    docstring)."""

    def __init__(self, state: ServerState, operations: Operations) -> None:
        self._state = state
        self._operations = operations

    async def describe(self, request: Any, context: Context) -> Message:  # noqa: ANN401
        """The caller's task as it is now (a poll)."""
        owner = current_principal()
        stored, metadata = await self._task(request.task_id, owner, poll=True)
        results = await self._results(owner)
        task = describe_task(
            stored, metadata, results.get(metadata.task_id), _folder_header(context)
        )
        return yandex_batch.DescribeBatchInferenceResponse(task=task)

    async def list(self, request: Any, context: Context) -> Message:  # noqa: ANN401
        """A page of the caller's tasks in creation order, optionally of one status."""
        owner = current_principal()
        if not request.folder_id:
            raise invalid_argument([FieldViolation("folder_id", "is required")])
        wanted = request.status
        if wanted not in STATUS.values():
            raise invalid_argument([FieldViolation("status", f"{wanted} is not a task status")])
        tasks: list[Operation] = []
        for operation in await self._operations.list(owner, OPERATIONS):
            metadata = batch_metadata(operation)
            if metadata is None:
                continue
            if wanted and task_status(operation, metadata) != wanted:
                continue
            tasks.append(operation)
        page = paginate(
            tasks,
            page_size=request.page_size,
            page_token=request.page_token,
            default_size=DEFAULT_OPERATIONS,
            secret=self._state.page_secret,
            binding={
                "method": "BatchInferenceService/List",
                "folder_id": request.folder_id,
                "status": wanted,
                "owner": owner,
            },
        )
        results = await self._results(owner) if page.items else {}
        response: Any = yandex_batch.ListBatchInferencesResponse(
            next_page_token=page.next_page_token
        )
        for operation in page.items:
            try:
                stored = await self._operations.record(operation.name, owner)
            except ServiceError:
                continue  # deleted or expired since the listing
            metadata = batch_metadata(stored.operation)
            if metadata is not None:
                task = describe_task(
                    stored, metadata, results.get(metadata.task_id), request.folder_id
                )
                response.tasks.append(task)
        return cast("Message", response)

    async def cancel(self, request: Any, context: Context) -> Message:  # noqa: ANN401
        """Stop the task's job (our CancelOperation); a finished task stays as it is."""
        owner = current_principal()
        stored, _ = await self._task(request.task_id, owner)
        await self._operations.cancel(stored.name, owner)
        return yandex_batch.CancelBatchInferenceResponse(task_id=request.task_id)

    async def delete(self, request: Any, context: Context) -> Message:  # noqa: ANN401
        """Forget a finished task; FAILED_PRECONDITION while it runs."""
        owner = current_principal()
        stored, metadata = await self._task(request.task_id, owner)
        if not stored.operation.done:
            status = yandex_batch.BatchInferenceTask.Status.Name(  # type: ignore[attr-defined]
                task_status(stored.operation, metadata)
            )
            raise failed_precondition(
                f"Batch task {request.task_id!r} is {status}: cancel it, or wait until it "
                "finishes, before deleting it",
                [("STATE", f"{TASK_TYPE}/{request.task_id}", f"the task is {status}")],
                reason="TASK_RUNNING",
            )
        await self._operations.delete(stored.name, owner)
        return yandex_batch.DeleteBatchInferenceResponse(task_id=request.task_id)

    async def _task(
        self, task_id: str, owner: str, *, poll: bool = False
    ) -> tuple[StoredOperation, batch_pb2.BatchCompletionMetadata]:
        # The caller's batch task: its operation and metadata; NOT_FOUND naming the task.
        name = _task_name(task_id)
        try:
            stored = await self._operations.record(name, owner, poll=poll)
        except ServiceError as error:
            if error.code != grpc.StatusCode.NOT_FOUND:
                raise
            raise not_found(TASK_TYPE, task_id) from None
        metadata = batch_metadata(stored.operation)
        if metadata is None:
            raise not_found(TASK_TYPE, task_id)
        return stored, metadata

    async def _results(self, owner: str) -> dict[str, DatasetRecord]:
        # The caller's result datasets by the task that wrote them.
        found = await self._state.stores.datasets.list(owner=owner)
        return {
            versioned.record.dataset.source_task_id: versioned.record
            for versioned in found
            if versioned.record.dataset.source_task_id
        }


def _unary(behaviour: Any, request_type: Any) -> grpc.RpcMethodHandler[Any, Any]:  # noqa: ANN401
    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=request_type.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def handler(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    """The handler of textgen.compat.yandex.batch_inference.v1.BatchInferenceService."""
    servicer = BatchInferenceServicer(state, operations)
    return grpc.method_handlers_generic_handler(
        yandex_batch.SERVICE,
        {
            "Describe": _unary(servicer.describe, yandex_batch.DescribeBatchInferenceRequest),
            "List": _unary(servicer.list, yandex_batch.ListBatchInferencesRequest),
            "Cancel": _unary(servicer.cancel, yandex_batch.CancelBatchInferenceRequest),
            "Delete": _unary(servicer.delete, yandex_batch.DeleteBatchInferenceRequest),
        },
    )
