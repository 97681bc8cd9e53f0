"""The Yandex foundation-models flavour: batch Completion and OperationService over our store.

Yandex answers its long-running calls with `yandex.cloud.operation.Operation`, a shape of its
own (textgen.yandex_operation), so these methods cannot be renamed onto textgen.v1's handlers
as the Generative Language ones are. They are served here, over the same logic:

- Completion maps the model URI to our model name (`model_uri`), hands the request to our
  batch servicer, and answers the operation it started in Yandex's shape. The call comes by
  the Yandex route, so the operation records that flavour and its metadata and response are
  packed as `yandex.cloud.ai.foundation_models.v1.BatchCompletion{Metadata,Response}`.
- OperationService Get and Cancel read and cancel the caller's operations (another
  principal's is NOT_FOUND, as a missing one is).

The Yandex shape is filled from the store: `id` is the operation's name without its leading
`operations/` (a batch task's id, as Yandex's are bare ids), `description` the job's, the two
timestamps from the server clock, `created_by` the owning principal, and done, metadata and
error or response as stored. Get and Cancel take that id back; an id holding a `/` (such as
`tunedModels/x/operations/y`, an operation created through another flavour) is taken as the
full name.

Model URIs: `gpt://<folder>/<model>` and `gpt://<folder>/<model>/<version>` with version
`latest`, `rc` or `deprecated` name our `models/<model>` (the folder must be non-empty and is
not otherwise used); our own names (`models/...`, `tunedModels/...`) are accepted as they are.
Any other URI, a tuned-model suffix (`.../latest@abc`) among them, is INVALID_ARGUMENT on
`model_uri`. A URI naming a model we do not have is NOT_FOUND: the message quotes the URI, the
ResourceInfo names `models/<model>`.
"""

from __future__ import annotations

from typing import Any, cast

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from textgen import yandex_operation
from textgen.server.lro.operations import Operations
from textgen.server.rpc.auth import current_principal
from textgen.server.rpc.errors import FieldViolation, ServiceError, invalid_argument
from textgen.server.services.text_generation_batch_service import TextGenerationBatchServicer
from textgen.server.state import ServerState
from textgen.server.storage import StoredOperation
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2
from textgen.yandex_operation import operation_id, operation_name

MODEL_URI_SCHEME = "gpt://"
MODEL_VERSIONS = frozenset({"latest", "rc", "deprecated"})
_OUR_PREFIXES = ("models/", "tunedModels/")


def model_name(uri: str) -> str:
    """Our model name for a Yandex model URI (see the module docstring); INVALID_ARGUMENT on
    `model_uri` for a URI of another form. An empty URI stays empty (the rules refuse it)."""
    if not uri or uri.startswith(_OUR_PREFIXES):
        return uri
    problem = _uri_problem(uri)
    if problem is not None:
        raise invalid_argument([FieldViolation("model_uri", problem)])
    return f"models/{uri.removeprefix(MODEL_URI_SCHEME).split('/')[1]}"


def _uri_problem(uri: str) -> str | None:
    if not uri.startswith(MODEL_URI_SCHEME):
        return (
            f"must be a model URI such as gpt://<folder>/<model>/latest, not {uri!r} "
            "(other schemes are not offered by this emulator)"
        )
    parts = uri.removeprefix(MODEL_URI_SCHEME).split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return f"must be gpt://<folder>/<model> or gpt://<folder>/<model>/<version>, not {uri!r}"
    if "@" in uri:
        return f"tuned model URIs ({uri!r}) are not offered by this emulator"
    if len(parts) == 3 and parts[2] not in MODEL_VERSIONS:
        return f"version must be one of latest, rc, deprecated, not {parts[2]!r}"
    return None


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


def yandex_shape(stored: StoredOperation) -> Message:
    """The stored operation as a `yandex.cloud.operation.Operation`."""
    operation = stored.operation
    shaped: Any = yandex_operation.Operation(
        id=operation_id(operation.name),
        description=stored.description,
        created_at=_timestamp(stored.created_at),
        created_by=stored.owner,
        modified_at=_timestamp(stored.modified_at),
        done=operation.done,
    )
    if operation.HasField("metadata"):
        shaped.metadata.CopyFrom(operation.metadata)
    result = operation.WhichOneof("result")
    if result == "error":
        shaped.error.CopyFrom(operation.error)
    elif result == "response":
        shaped.response.CopyFrom(operation.response)
    return cast("Message", shaped)


def _quote_uri(error: ServiceError, uri: str, name: str) -> None:
    # A model that is not found is named as the caller wrote it too; the ResourceInfo keeps
    # our name for it.
    if (
        error.code == grpc.StatusCode.NOT_FOUND
        and uri != name
        and repr(name) in error.status.message
    ):
        error.status.message += f" (model URI {uri!r})"


def _requested_name(request: Any) -> str:  # noqa: ANN401  (a message class built at run time)
    if not request.operation_id:
        raise invalid_argument([FieldViolation("operation_id", "is required")])
    return operation_name(request.operation_id)


class YandexServicer:
    """Completion, Get and Cancel in Yandex's shapes (see the module docstring)."""

    def __init__(self, state: ServerState, operations: Operations) -> None:
        self._operations = operations
        self._batches = TextGenerationBatchServicer(state, operations)

    async def completion(self, request: batch_pb2.BatchCompletionRequest, context: Any) -> Message:  # noqa: ANN401
        """Start a batch completion task; its operation in Yandex's shape."""
        ours = batch_pb2.BatchCompletionRequest()
        ours.CopyFrom(request)
        ours.model_uri = model_name(request.model_uri)
        try:
            started = await self._batches.Completion(ours, context)
        except ServiceError as error:
            _quote_uri(error, request.model_uri, ours.model_uri)
            raise
        stored = await self._operations.record(started.name, current_principal())
        return yandex_shape(stored)

    async def get(self, request: Any, context: Any) -> Message:  # noqa: ANN401
        """The caller's operation as it is now (a poll, as GetOperation is)."""
        name = _requested_name(request)
        return yandex_shape(await self._operations.record(name, current_principal(), poll=True))

    async def cancel(self, request: Any, context: Any) -> Message:  # noqa: ANN401
        """Stop the operation's work; it stays, done, with error CANCELLED."""
        name = _requested_name(request)
        owner = current_principal()
        await self._operations.cancel(name, owner)
        return yandex_shape(await self._operations.record(name, owner))


def _unary(behaviour: Any, request_type: type[Message]) -> grpc.RpcMethodHandler[Any, Any]:  # noqa: ANN401
    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=request_type.FromString,
        response_serializer=yandex_operation.Operation.SerializeToString,
    )


def batch_handler(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    """The handler of textgen.compat.yandex.v1.TextGenerationBatchService."""
    servicer = YandexServicer(state, operations)
    return grpc.method_handlers_generic_handler(
        yandex_operation.BATCH_SERVICE,
        {"Completion": _unary(servicer.completion, batch_pb2.BatchCompletionRequest)},
    )


def operations_handler(state: ServerState, operations: Operations) -> grpc.GenericRpcHandler:
    """The handler of textgen.compat.yandex.v1.OperationService."""
    servicer = YandexServicer(state, operations)
    return grpc.method_handlers_generic_handler(
        yandex_operation.OPERATION_SERVICE,
        {
            "Get": _unary(servicer.get, yandex_operation.GetOperationRequest),
            "Cancel": _unary(servicer.cancel, yandex_operation.CancelOperationRequest),
        },
    )
