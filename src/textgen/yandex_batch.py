"""Yandex's batch inference service, declared in our own namespace at import.

Yandex follows a batch task through `yandex.cloud.ai.batch_inference.v1.BatchInferenceService`
(Describe, List, Cancel, Delete), by task id; its ML SDK waits on a task by calling Describe.
This module declares wire-identical copies of that service's messages in the default pool,
under the package `textgen.compat.yandex.batch_inference.v1` (never under `yandex.cloud.*`,
which the yandexcloud package registers), as textgen.yandex_operation does for operations:

- `BatchInferenceTask`: task_id 1, operation_id 2, folder_id 3, model_uri 4,
  source_dataset_id 5, the oneof `request` holding completion_request 6, status 7 (its own
  enum `Status`, numbered as our BatchInferenceTaskStatus), result_dataset_id 8, labels 9 (a
  string map), created_by 10, created_at 11, started_at 12, finished_at 13, and errors 14
  (`ErrorsInfo`: a google.rpc.Status, then line and batch errors);
- the `BatchCompletionRequest` a task embeds, with its `CompletionOptions`,
  `ReasoningOptions` and `JsonSchema`. This request is numbered differently from the
  foundation-models one our contract mirrors (model_uri 1, source_dataset_id 2,
  completion_options 3, data_logging_enabled 4, the oneof `StructuredOutput` of json_object
  5 / json_schema 6; options temperature 1, max_tokens 2, reasoning_options 3), so the two
  are not interchangeable;
- the requests and responses of the four methods, and `BatchInferenceMetadata` and
  `BatchInferenceResponse`, which Yandex declares beside them (none of the four methods
  answers an operation, so the emulator packs neither);
- the service itself, which the Yandex flavour (textgen.apis) renames to Yandex's name.

The field table below is the single statement of the shapes; tests/interop compares every
message with yandexcloud's, field for field.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import (
    descriptor_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.rpc import status_pb2

from textgen._declared import declare, message_class

PACKAGE = "textgen.compat.yandex.batch_inference.v1"
FILE = "textgen/compat/yandex/batch_inference/v1/batch_inference.proto"
SERVICE = f"{PACKAGE}.BatchInferenceService"
# Yandex's name for the service.
UPSTREAM_SERVICE = "yandex.cloud.ai.batch_inference.v1.BatchInferenceService"

_F = descriptor_pb2.FieldDescriptorProto
STRING, BOOL, INT64 = _F.TYPE_STRING, _F.TYPE_BOOL, _F.TYPE_INT64
MESSAGE, ENUM = _F.TYPE_MESSAGE, _F.TYPE_ENUM
REPEATED = "repeated"

# (message path, ((field, number, kind, type name or "", oneof or "" or REPEATED), ...)).
# A type name without a leading dot is in PACKAGE. Nested messages are written with dots and
# come after their parent.
_MESSAGES: tuple[tuple[str, tuple[tuple[str, int, int, str, str], ...]], ...] = (
    (
        "BatchCompletionRequest",
        (
            ("model_uri", 1, STRING, "", ""),
            ("source_dataset_id", 2, STRING, "", ""),
            ("completion_options", 3, MESSAGE, "CompletionOptions", ""),
            ("data_logging_enabled", 4, BOOL, "", ""),
            ("json_object", 5, BOOL, "", "StructuredOutput"),
            ("json_schema", 6, MESSAGE, "JsonSchema", "StructuredOutput"),
        ),
    ),
    (
        "CompletionOptions",
        (
            ("temperature", 1, MESSAGE, ".google.protobuf.DoubleValue", ""),
            ("max_tokens", 2, MESSAGE, ".google.protobuf.Int64Value", ""),
            ("reasoning_options", 3, MESSAGE, "ReasoningOptions", ""),
        ),
    ),
    ("ReasoningOptions", (("mode", 1, ENUM, "ReasoningOptions.ReasoningMode", ""),)),
    ("JsonSchema", (("schema", 1, MESSAGE, ".google.protobuf.Struct", ""),)),
    (
        "BatchInferenceTask",
        (
            ("task_id", 1, STRING, "", ""),
            ("operation_id", 2, STRING, "", ""),
            ("folder_id", 3, STRING, "", ""),
            ("model_uri", 4, STRING, "", ""),
            ("source_dataset_id", 5, STRING, "", ""),
            ("completion_request", 6, MESSAGE, "BatchCompletionRequest", "request"),
            ("status", 7, ENUM, "BatchInferenceTask.Status", ""),
            ("result_dataset_id", 8, STRING, "", ""),
            ("labels", 9, MESSAGE, "BatchInferenceTask.LabelsEntry", REPEATED),
            ("created_by", 10, STRING, "", ""),
            ("created_at", 11, MESSAGE, ".google.protobuf.Timestamp", ""),
            ("started_at", 12, MESSAGE, ".google.protobuf.Timestamp", ""),
            ("finished_at", 13, MESSAGE, ".google.protobuf.Timestamp", ""),
            ("errors", 14, MESSAGE, "BatchInferenceTask.ErrorsInfo", ""),
        ),
    ),
    (
        "BatchInferenceTask.ErrorsInfo",
        (
            ("status", 1, MESSAGE, ".google.rpc.Status", ""),
            ("line_errors", 2, MESSAGE, "BatchInferenceTask.ErrorsInfo.LineError", REPEATED),
            ("batch_errors", 3, MESSAGE, "BatchInferenceTask.ErrorsInfo.BatchError", REPEATED),
        ),
    ),
    (
        "BatchInferenceTask.ErrorsInfo.LineError",
        (("line_number", 1, INT64, "", ""), ("message", 2, STRING, "", "")),
    ),
    (
        "BatchInferenceTask.ErrorsInfo.BatchError",
        (
            ("batch_number", 1, INT64, "", ""),
            ("first_line", 2, INT64, "", ""),
            ("last_line", 3, INT64, "", ""),
            ("message", 4, STRING, "", ""),
        ),
    ),
    (
        "BatchInferenceTask.LabelsEntry",
        (("key", 1, STRING, "", ""), ("value", 2, STRING, "", "")),
    ),
    (
        "BatchInferenceMetadata",
        (
            ("task_id", 1, STRING, "", ""),
            ("task_status", 2, ENUM, "BatchInferenceTask.Status", ""),
            ("completed_batches", 3, INT64, "", ""),
            ("total_batches", 4, INT64, "", ""),
        ),
    ),
    ("BatchInferenceResponse", (("task", 1, MESSAGE, "BatchInferenceTask", ""),)),
    ("DescribeBatchInferenceRequest", (("task_id", 1, STRING, "", ""),)),
    ("DescribeBatchInferenceResponse", (("task", 1, MESSAGE, "BatchInferenceTask", ""),)),
    (
        "ListBatchInferencesRequest",
        (
            ("folder_id", 1, STRING, "", ""),
            ("page_size", 2, INT64, "", ""),
            ("page_token", 3, STRING, "", ""),
            ("status", 4, ENUM, "BatchInferenceTask.Status", ""),
        ),
    ),
    (
        "ListBatchInferencesResponse",
        (
            ("tasks", 1, MESSAGE, "BatchInferenceTask", REPEATED),
            ("next_page_token", 2, STRING, "", ""),
        ),
    ),
    ("CancelBatchInferenceRequest", (("task_id", 1, STRING, "", ""),)),
    ("CancelBatchInferenceResponse", (("task_id", 1, STRING, "", ""),)),
    ("DeleteBatchInferenceRequest", (("task_id", 1, STRING, "", ""),)),
    ("DeleteBatchInferenceResponse", (("task_id", 1, STRING, "", ""),)),
)

# (enum path, value names in number order from 0).
_ENUMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "ReasoningOptions.ReasoningMode",
        ("REASONING_MODE_UNSPECIFIED", "DISABLED", "ENABLED_HIDDEN"),
    ),
    (
        "BatchInferenceTask.Status",
        (
            "STATUS_UNSPECIFIED",
            "CREATED",
            "PENDING",
            "IN_PROGRESS",
            "COMPLETED",
            "FAILED",
            "CANCELED",
        ),
    ),
)

# The service's methods: (name, request, response).
_METHODS = (
    ("Describe", "DescribeBatchInferenceRequest", "DescribeBatchInferenceResponse"),
    ("List", "ListBatchInferencesRequest", "ListBatchInferencesResponse"),
    ("Cancel", "CancelBatchInferenceRequest", "CancelBatchInferenceResponse"),
    ("Delete", "DeleteBatchInferenceRequest", "DeleteBatchInferenceResponse"),
)


def _type_name(name: str) -> str:
    return name if name.startswith(".") else f".{PACKAGE}.{name}"


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name=FILE,
        package=PACKAGE,
        syntax="proto3",
        dependency=[
            timestamp_pb2.DESCRIPTOR.name,
            struct_pb2.DESCRIPTOR.name,
            wrappers_pb2.DESCRIPTOR.name,
            status_pb2.DESCRIPTOR.name,
        ],
    )
    declared: dict[str, descriptor_pb2.DescriptorProto] = {}
    for path, fields in _MESSAGES:
        parent, _, name = path.rpartition(".")
        container = declared[parent].nested_type if parent else proto.message_type
        message = declared[path] = container.add(name=name)
        if name.endswith("Entry"):
            message.options.map_entry = True
        oneofs: list[str] = []
        for field, number, kind, type_name, extra in fields:
            label = _F.LABEL_REPEATED if extra == REPEATED else _F.LABEL_OPTIONAL
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name:
                added.type_name = _type_name(type_name)
            if extra and extra != REPEATED:
                if extra not in oneofs:
                    oneofs.append(extra)
                    message.oneof_decl.add(name=extra)
                added.oneof_index = oneofs.index(extra)
    for path, values in _ENUMS:
        parent, _, name = path.rpartition(".")
        enum = declared[parent].enum_type.add(name=name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    service = proto.service.add(name="BatchInferenceService")
    for method, request, response in _METHODS:
        service.method.add(
            name=method, input_type=_type_name(request), output_type=_type_name(response)
        )
    return proto


DESCRIPTOR: Any = declare(FILE, _file)


BatchCompletionRequest = message_class(DESCRIPTOR, "BatchCompletionRequest")
BatchInferenceTask = message_class(DESCRIPTOR, "BatchInferenceTask")
BatchInferenceMetadata = message_class(DESCRIPTOR, "BatchInferenceMetadata")
BatchInferenceResponse = message_class(DESCRIPTOR, "BatchInferenceResponse")
DescribeBatchInferenceRequest = message_class(DESCRIPTOR, "DescribeBatchInferenceRequest")
DescribeBatchInferenceResponse = message_class(DESCRIPTOR, "DescribeBatchInferenceResponse")
ListBatchInferencesRequest = message_class(DESCRIPTOR, "ListBatchInferencesRequest")
ListBatchInferencesResponse = message_class(DESCRIPTOR, "ListBatchInferencesResponse")
CancelBatchInferenceRequest = message_class(DESCRIPTOR, "CancelBatchInferenceRequest")
CancelBatchInferenceResponse = message_class(DESCRIPTOR, "CancelBatchInferenceResponse")
DeleteBatchInferenceRequest = message_class(DESCRIPTOR, "DeleteBatchInferenceRequest")
DeleteBatchInferenceResponse = message_class(DESCRIPTOR, "DeleteBatchInferenceResponse")

# The task's Status values by name (the numbers equal BatchInferenceTaskStatus's).
STATUS: dict[str, int] = {
    value.name: value.number
    for value in DESCRIPTOR.message_types_by_name["BatchInferenceTask"]
    .enum_types_by_name["Status"]
    .values
}
