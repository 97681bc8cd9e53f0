"""`client.batches`: TextGenerationBatchService -- batch completion tasks over a dataset."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import json_format, struct_pb2, wrappers_pb2

from textgen import _waiting, errors
from textgen._calls import Call, Paged, Program, call, method, paged
from textgen._shells import AsyncRunner, SyncRunner
from textgen.resources._base import Resource, async_call, sync_call
from textgen.resources._content import model_name
from textgen.resources._request_ids import new_request_id
from textgen.resources.batch_job import (
    async_job,
    async_jobs,
    batch_operation_name,
    sync_job,
    sync_jobs,
)
from textgen.resources.datasets import DatasetCalls, dataset_id
from textgen.rows import PromptInput
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

SERVICE = "textgen.v1.TextGenerationBatchService"
# Each Completion starts a new task over the whole dataset; it carries a fresh request_id,
# so the server answers a resent one with the first task (AIP-155).
COMPLETION = method(
    SERVICE,
    "Completion",
    batch_pb2.BatchCompletionRequest,
    operations_pb2.Operation,
    idempotent=True,
)
ReasoningMode = batch_pb2.ReasoningOptions.ReasoningMode
ReasoningInput = str | int  # "disabled", "enabled_hidden" or a ReasoningMode value
BATCH_COLLECTION = "operations"  # batch tasks are `operations/{task_id}`


def _reasoning_mode(mode: ReasoningInput) -> batch_pb2.ReasoningOptions.ReasoningMode.ValueType:
    if isinstance(mode, str):
        try:
            return ReasoningMode.Value(mode.upper())
        except ValueError:
            choices = ", ".join(repr(n.lower()) for n in ReasoningMode.keys()[1:])
            raise errors.UsageError(
                f"reasoning_mode must be one of {choices}, not {mode!r}"
            ) from None
    return ReasoningMode.ValueType(mode)


def _request(
    model_uri: str,
    *,
    temperature: float | None,
    max_tokens: int | None,
    reasoning_mode: ReasoningInput | None,
    json_object: bool,
    json_schema: Mapping[str, Any] | None,
) -> batch_pb2.BatchCompletionRequest:
    request = batch_pb2.BatchCompletionRequest(model_uri=model_name(model_uri))
    options = request.completion_options
    if temperature is not None:
        options.temperature.CopyFrom(wrappers_pb2.DoubleValue(value=temperature))
    if max_tokens is not None:
        options.max_tokens.CopyFrom(wrappers_pb2.Int64Value(value=max_tokens))
    if reasoning_mode is not None:
        options.reasoning_options.mode = _reasoning_mode(reasoning_mode)
    if json_object and json_schema is not None:
        raise errors.UsageError("pass json_object=True or json_schema, not both")
    if json_schema is not None:
        schema = json_format.ParseDict(dict(json_schema), struct_pb2.Struct())
        request.json_schema.schema.CopyFrom(schema)
    elif json_object:
        request.json_object = True
    return request


def _start(
    request: batch_pb2.BatchCompletionRequest, rows: Iterable[PromptInput] | None
) -> Program[operations_pb2.Operation]:
    if rows is not None:
        uploaded = yield from DatasetCalls.create(
            rows, display_name="Batch input", labels={"purpose": "batch-input"}
        )
        request.source_dataset_id = dataset_id(uploaded.name)
    started: operations_pb2.Operation = yield call(COMPLETION, request)
    return started


def _ignore(_: object) -> None:
    return None


class BatchCalls:
    """Each batch call as a plan; `Batches` and `AsyncBatches` run them into job handles."""

    @staticmethod
    def create(
        model_uri: str,
        *,
        dataset: str | None = None,
        rows: Iterable[PromptInput] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        reasoning_mode: ReasoningInput | None = None,
        json_object: bool = False,
        json_schema: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Program[operations_pb2.Operation]:
        """Start a batch completion of every row of a prompt dataset; returns its job.

        Give exactly one of `dataset` (`datasets/x` or `x`) or `rows` (uploaded first as a new
        dataset, see `datasets.create`). json_object=True asks for JSON answers, json_schema
        (a JSON Schema dict of "type": "object") for answers of that shape. The request
        carries `request_id` (a fresh UUID4 unless given), so the client's retries, or a
        call repeated with the same id, start one task only.
        """
        if (dataset is None) == (rows is None):
            raise errors.UsageError("pass exactly one of dataset= or rows=")
        request = _request(
            model_uri,
            temperature=temperature,
            max_tokens=max_tokens,
            reasoning_mode=reasoning_mode,
            json_object=json_object,
            json_schema=json_schema,
        )
        request.request_id = new_request_id(request_id)
        if dataset is not None:
            request.source_dataset_id = dataset_id(dataset)
        return _start(request, rows)

    @staticmethod
    def get(name: str) -> Call[operations_pb2.Operation]:
        """A handle on a batch task, by task id or operation name (`operations/{id}`)."""
        request = _waiting.get_operation(batch_operation_name(name))
        return call(_waiting.GET_OPERATION, request)

    @staticmethod
    def delete(name: str) -> Call[None]:
        """Delete a batch task, by task id or operation name (`operations/{id}`): the
        operation is forgotten and answers NOT_FOUND from then on.

        This is google.longrunning's DeleteOperation, which does not stop a running task:
        `cancel()` its job first to stop it. The result dataset of a finished task stays
        until `datasets.delete`. Not retried: a resent delete would find nothing.
        """
        request = operations_pb2.DeleteOperationRequest(name=batch_operation_name(name))
        return call(_waiting.DELETE_OPERATION, request, _ignore)

    @staticmethod
    def list_batches(
        *, done: bool | None = None, page_size: int | None = None
    ) -> Paged[operations_pb2.Operation]:
        """Handles on the caller's batch tasks (the `operations` collection), a page at a
        time; `done` keeps only finished (True) or running (False) tasks."""
        request = operations_pb2.ListOperationsRequest(
            name=BATCH_COLLECTION,
            filter="" if done is None else f"done={str(done).lower()}",
            page_size=page_size or 0,
        )
        return paged(_waiting.LIST_OPERATIONS, request, lambda page: page.operations)


c = BatchCalls


class Batches(Resource[SyncRunner]):
    """Batch completion tasks (blocking); each method returns BatchJob handles."""

    create = sync_job(c.create)
    get = sync_job(c.get)
    list = sync_jobs(c.list_batches)
    delete = sync_call(c.delete)


class AsyncBatches(Resource[AsyncRunner]):
    """Batch completion tasks (asyncio); await create/get, `async for` over list."""

    create = async_job(c.create)
    get = async_job(c.get)
    list = async_jobs(c.list_batches)
    delete = async_call(c.delete)
