"""The Yandex Cloud operation shape, declared in our own namespace at import.

Yandex's long-running methods answer `yandex.cloud.operation.Operation`, whose fields after
the first collide in number and wire type with google.longrunning.Operation's, so neither can
be read as the other. This module declares, in the default descriptor pool but under the
package `textgen.compat.yandex.v1` (never under `yandex.cloud.*`, which the yandexcloud
package registers), messages that are wire-identical to Yandex's:

- `Operation`: id 1, description 2, created_at 3, created_by 4, modified_at 5, done 6,
  metadata 7, and the oneof `result` of error 8 / response 9;
- `GetOperationRequest` and `CancelOperationRequest`: operation_id 1;

and two services that the Yandex flavour (textgen.apis) renames: `OperationService` (Get,
Cancel) and `TextGenerationBatchService` (Completion, taking our BatchCompletionRequest,
which is wire-identical to Yandex's, and answering `Operation`).

It also converts between the two shapes' names (`operation_id`, `operation_name`) and reads a
Yandex operation as a google.longrunning one (`longrunning`), which the server and the
client's Yandex flavour share.

They are declared here rather than in protos/ so that the published contract stays
`textgen.v1` alone (its lint, breaking-change baseline and TypeScript output untouched) and
so that server and client share them without depending on yandexcloud.
"""

from __future__ import annotations

from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    timestamp_pb2,
)
from google.protobuf.message import Message
from google.rpc import status_pb2

from textgen._declared import declare, message_class
from textgen.v1 import text_generation_batch_service_pb2

PACKAGE = "textgen.compat.yandex.v1"
FILE = "textgen/compat/yandex/v1/operation.proto"
OPERATION_SERVICE = f"{PACKAGE}.OperationService"
BATCH_SERVICE = f"{PACKAGE}.TextGenerationBatchService"


def _file() -> descriptor_pb2.FileDescriptorProto:
    field = descriptor_pb2.FieldDescriptorProto
    batch_file = text_generation_batch_service_pb2.DESCRIPTOR
    proto = descriptor_pb2.FileDescriptorProto(
        name=FILE,
        package=PACKAGE,
        syntax="proto3",
        dependency=[
            timestamp_pb2.DESCRIPTOR.name,
            any_pb2.DESCRIPTOR.name,
            status_pb2.DESCRIPTOR.name,
            batch_file.name,
        ],
    )
    operation = proto.message_type.add(name="Operation")
    operation.oneof_decl.add(name="result")
    fields: tuple[tuple[str, int, int, str], ...] = (
        ("id", 1, field.TYPE_STRING, ""),
        ("description", 2, field.TYPE_STRING, ""),
        ("created_at", 3, field.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        ("created_by", 4, field.TYPE_STRING, ""),
        ("modified_at", 5, field.TYPE_MESSAGE, ".google.protobuf.Timestamp"),
        ("done", 6, field.TYPE_BOOL, ""),
        ("metadata", 7, field.TYPE_MESSAGE, ".google.protobuf.Any"),
        ("error", 8, field.TYPE_MESSAGE, ".google.rpc.Status"),
        ("response", 9, field.TYPE_MESSAGE, ".google.protobuf.Any"),
    )
    for name, number, kind, type_name in fields:
        added = operation.field.add(name=name, number=number, type=kind, label=field.LABEL_OPTIONAL)
        if type_name:
            added.type_name = type_name
        if number in (8, 9):
            added.oneof_index = 0
    for request in ("GetOperationRequest", "CancelOperationRequest"):
        message = proto.message_type.add(name=request)
        message.field.add(
            name="operation_id", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL
        )
    operations = proto.service.add(name="OperationService")
    for method in ("Get", "Cancel"):
        operations.method.add(
            name=method,
            input_type=f".{PACKAGE}.{method}OperationRequest",
            output_type=f".{PACKAGE}.Operation",
        )
    batches = proto.service.add(name="TextGenerationBatchService")
    batches.method.add(
        name="Completion",
        input_type=f".{batch_file.package}.BatchCompletionRequest",
        output_type=f".{PACKAGE}.Operation",
    )
    return proto


DESCRIPTOR: Any = declare(FILE, _file)


Operation = message_class(DESCRIPTOR, "Operation")
GetOperationRequest = message_class(DESCRIPTOR, "GetOperationRequest")
CancelOperationRequest = message_class(DESCRIPTOR, "CancelOperationRequest")


# --- between Yandex's shape and google.longrunning's -------------------------------------

OPERATIONS_PREFIX = "operations/"


def operation_id(name: str) -> str:
    """The Yandex id of our operation `name` (`operations/abc` -> `abc`)."""
    return name.removeprefix(OPERATIONS_PREFIX)


def operation_name(operation_id: str) -> str:
    """Our name for a Yandex operation id; an id holding a `/` (an operation another flavour
    started, such as `tunedModels/x/operations/y`) is already a full name."""
    return operation_id if "/" in operation_id else OPERATIONS_PREFIX + operation_id


def longrunning(shaped: Message) -> operations_pb2.Operation:
    """A Yandex-shaped operation as a google.longrunning.Operation (name from its id)."""
    source: Any = shaped
    operation = operations_pb2.Operation(name=operation_name(source.id), done=source.done)
    if source.HasField("metadata"):
        operation.metadata.CopyFrom(source.metadata)
    result = source.WhichOneof("result")
    if result == "error":
        operation.error.CopyFrom(source.error)
    elif result == "response":
        operation.response.CopyFrom(source.response)
    return operation
