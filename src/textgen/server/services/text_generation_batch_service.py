"""TextGenerationBatchService: check a batch completion request and start its job."""

from __future__ import annotations

import functools
from typing import Any

import grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import json_format, struct_pb2

from textgen.server.engine import SamplingParams
from textgen.server.generation.resolution import ResolvedModel, resolve_model
from textgen.server.generation.sampling import FALLBACK_TOP_P, JSON_MIME_TYPE, TEXT_MIME_TYPE
from textgen.server.jobs.batch import BatchPlan, start_batch
from textgen.server.lro.operations import Operations, current_operation
from textgen.server.names import DATASET, model_name_violations
from textgen.server.quotas import check_resource_quota
from textgen.server.rpc.auth import current_principal, find_owned
from textgen.server.rpc.errors import FieldViolation
from textgen.server.state import ServerState
from textgen.server.storage import DatasetRecord
from textgen.server.validation.batch_rules import BATCH_COMPLETION_RULES, batch_model_rules
from textgen.server.validation.plan import ensure, validate, violations
from textgen.v1 import dataset_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.v1 import text_generation_batch_service_pb2_grpc as batch_grpc

DEFAULT_TEMPERATURE = 0.3  # the contract's default for CompletionOptions.temperature


async def source_dataset(state: ServerState, dataset_id: str, owner: str) -> DatasetRecord:
    """The caller's prompt dataset `datasets/{dataset_id}`: NOT_FOUND when missing or someone
    else's, INVALID_ARGUMENT on source_dataset_id when it does not hold prompts."""
    name = DATASET.name(dataset_id)
    record = (await find_owned(state.stores.datasets, name, owner, DATASET.type)).record
    if record.dataset.kind != dataset_pb2.Dataset.KIND_PROMPTS:
        ensure([FieldViolation("source_dataset_id", "must name a prompt dataset")])
    return record


def sampling(request: batch_pb2.BatchCompletionRequest, model: ResolvedModel) -> SamplingParams:
    """Every row's sampling settings: the request's, else the contract's and model's."""
    options = request.completion_options
    schema: dict[str, Any] | None = None
    response_format = request.WhichOneof("response_format")
    if response_format == "json_schema":
        schema = _struct_to_dict(request.json_schema.schema)
    json_mode = response_format == "json_schema" or (
        response_format == "json_object" and request.json_object
    )
    return SamplingParams(
        temperature=(
            options.temperature.value if options.HasField("temperature") else DEFAULT_TEMPERATURE
        ),
        top_p=model.top_p if model.top_p is not None else FALLBACK_TOP_P,
        top_k=model.top_k,
        candidate_count=1,
        max_output_tokens=(
            options.max_tokens.value
            if options.HasField("max_tokens")
            else model.base.output_token_limit
        ),
        response_mime_type=JSON_MIME_TYPE if json_mode else TEXT_MIME_TYPE,
        response_schema=schema,
    )


def _struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(struct)
    return found


class TextGenerationBatchServicer(batch_grpc.TextGenerationBatchServiceServicer):
    """Starts batch completion tasks as `operations/{op}` operations."""

    def __init__(self, state: ServerState, operations: Operations) -> None:
        self._state = state
        self._operations = operations

    async def Completion(
        self,
        request: batch_pb2.BatchCompletionRequest,
        context: grpc.aio.ServicerContext[
            batch_pb2.BatchCompletionRequest, operations_pb2.Operation
        ],
    ) -> operations_pb2.Operation:
        """Check the request (syntax, then lookups), then start the task."""
        owner = current_principal()
        uri_syntax = (
            model_name_violations(request.model_uri, "model_uri") if request.model_uri else []
        )
        ensure(violations(request, BATCH_COMPLETION_RULES), uri_syntax)
        model = await resolve_model(self._state, request.model_uri, owner, field="model_uri")
        validate(request, batch_model_rules(model.base))
        source = await source_dataset(self._state, request.source_dataset_id, owner)
        plan = BatchPlan(owner, model, sampling(request, model), source)

        async def create() -> operations_pb2.Operation:
            # The job writes a result dataset, which counts towards the caller's quota.
            await check_resource_quota(self._state.stores, self._state.limits, owner)
            return await start_batch(self._state, self._operations, plan)

        return await self._state.request_ids.once(
            owner,
            "Completion",
            request.request_id,
            operations_pb2.Operation,
            create,
            refresh=functools.partial(current_operation, self._operations, owner),
        )
