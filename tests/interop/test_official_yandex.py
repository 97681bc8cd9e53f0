"""The yandexcloud generated stubs against the emulator's Yandex foundation-models flavour.

The stubs run TextGenerationBatchService.Completion with a `gpt://` model URI, poll
OperationService.Get until the operation is done, and unpack its metadata and response as
Yandex's own BatchCompletionMetadata and BatchCompletionResponse (Unpack returns False for a
type URL it does not expect, so each unpack is asserted). textgen.Client then reads the
result dataset. The package pins protobuf<7, so the latest leg of `make test` installs it
with --no-deps (its generated code runs on protobuf 7); elsewhere this module skips.

The stubs are used on a plain insecure channel: the SDK's own waiter resolves endpoints
through Yandex's endpoint service over TLS and cannot be pointed at a local server.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import textgen
from tests.interop.official_calls import Row
from textgen.rows import ResultRow
from textgen.testing import FakeServer, Progression

operation_grpc = pytest.importorskip(
    "yandex.cloud.operation.operation_service_pb2_grpc",
    reason="yandexcloud is installed (with --no-deps) in the latest leg only",
)
operation_service: Any = importlib.import_module("yandex.cloud.operation.operation_service_pb2")
_BATCH = "yandex.cloud.ai.foundation_models.v1.text_generation.text_generation_service"
batch_service: Any = importlib.import_module(f"{_BATCH}_pb2")
batch_grpc: Any = importlib.import_module(f"{_BATCH}_pb2_grpc")
inference: Any = importlib.import_module(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_service_pb2"
)
inference_grpc: Any = importlib.import_module(
    "yandex.cloud.ai.batch_inference.v1.batch_inference_service_pb2_grpc"
)
task_status: Any = importlib.import_module(
    "yandex.cloud.ai.foundation_models.v1.batch_inference_task_status_pb2"
)

KEY = "test-key"
FOLDER = "b1gfolder"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(
        api_keys={KEY: "alice"}, clock="manual", progression=Progression.after_polls()
    ) as server:
        yield server


@pytest.fixture
def channel(fake: FakeServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(fake.target) as chan:
        yield chan


METADATA = (("authorization", f"Api-Key {KEY}"), ("x-folder-id", FOLDER))


def test_completion_then_get_until_done(fake: FakeServer, channel: grpc.Channel) -> None:
    with textgen.Client(fake.target, api_key=KEY) as client:
        prompts = client.datasets.create(["Say hello", "Count to three"])
        request = batch_service.BatchCompletionRequest(
            model_uri=f"gpt://{FOLDER}/text-bison-001/latest",
            source_dataset_id=prompts.name.removeprefix("datasets/"),
        )
        request.completion_options.max_tokens.value = 50
        operation = batch_grpc.TextGenerationBatchServiceStub(channel).Completion(
            request, metadata=METADATA
        )
        assert not operation.done and operation.created_by == "alice"
        assert operation.description == "Batch completion"
        operations: Any = operation_grpc.OperationServiceStub(channel)
        for _ in range(50):
            if operation.done:
                break
            get = operation_service.GetOperationRequest(operation_id=operation.id)
            operation = operations.Get(get, metadata=METADATA)
        assert operation.done and operation.WhichOneof("result") == "response"
        assert operation.created_at.ToNanoseconds() <= operation.modified_at.ToNanoseconds()

        metadata = batch_service.BatchCompletionMetadata()
        assert operation.metadata.Unpack(metadata)
        assert metadata.task_id == operation.id
        assert metadata.completed_batches == metadata.total_batches == 1
        response = batch_service.BatchCompletionResponse()
        assert operation.response.Unpack(response)
        assert response.task_status == task_status.COMPLETED

        rows = list(client.datasets.read(response.result_dataset_id))
        assert len(rows) == 2
        assert all(isinstance(row, ResultRow) and row.ok and row.completion for row in rows)


def test_cancel_and_a_bad_model_uri(channel: grpc.Channel, fake: FakeServer) -> None:
    with textgen.Client(fake.target, api_key=KEY) as client:
        prompts = client.datasets.create(["x"])
    stub = batch_grpc.TextGenerationBatchServiceStub(channel)
    request = batch_service.BatchCompletionRequest(
        model_uri=f"gpt://{FOLDER}/text-bison-001",
        source_dataset_id=prompts.name.removeprefix("datasets/"),
    )
    operation = stub.Completion(request, metadata=METADATA)
    operations: Any = operation_grpc.OperationServiceStub(channel)
    cancel = operation_service.CancelOperationRequest(operation_id=operation.id)
    cancelled = operations.Cancel(cancel, metadata=METADATA)
    assert cancelled.done and cancelled.error.code == grpc.StatusCode.CANCELLED.value[0]

    request.model_uri = "gpt:///text-bison-001/latest"
    with pytest.raises(grpc.RpcError) as caught:
        stub.Completion(request, metadata=METADATA)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_our_shapes_are_yandex_field_for_field() -> None:
    from textgen import yandex_operation  # noqa: PLC0415

    operation_pb2: Any = importlib.import_module("yandex.cloud.operation.operation_pb2")

    def shape(message: Any) -> list[tuple[object, ...]]:
        return [
            (field.name, field.number, field.type, field.containing_oneof is not None)
            for field in message.DESCRIPTOR.fields
        ]

    assert shape(yandex_operation.Operation) == shape(operation_pb2.Operation)
    assert shape(yandex_operation.GetOperationRequest) == shape(
        operation_service.GetOperationRequest
    )
    assert shape(yandex_operation.CancelOperationRequest) == shape(
        operation_service.CancelOperationRequest
    )


def test_the_yandex_flavoured_client_reads_what_the_stubs_start(
    fake: FakeServer, channel: grpc.Channel
) -> None:
    with textgen.Client(fake.target, api_key=KEY) as client:
        prompts = client.datasets.create(["Say hello"])
    request = batch_service.BatchCompletionRequest(
        model_uri=f"gpt://{FOLDER}/text-bison-001/latest",
        source_dataset_id=prompts.name.removeprefix("datasets/"),
    )
    started = batch_grpc.TextGenerationBatchServiceStub(channel).Completion(
        request, metadata=METADATA
    )
    with textgen.Client(fake.target, api="yandex", api_key=KEY, folder_id=FOLDER) as yandex:
        job = yandex.batches.get(started.id).wait(timeout=20)
    assert job.status == textgen.BatchStatus.COMPLETED
    assert job.task_id == started.id
    assert job.result_dataset is not None


# The official calls these tests make, for the README's table (official_calls.py).
ROWS = [
    Row(
        "`TextGenerationBatchServiceStub.Completion` (`gpt://<folder>/<model>[/<version>]`)",
        "TextGenerationBatchService/Completion",
        "works: a `yandex.cloud.operation.Operation` (id, description, created_at, created_by, "
        "modified_at, done, metadata)",
        "test_completion_then_get_until_done",
    ),
    Row(
        "`OperationServiceStub.Get` until done, `Unpack` of metadata and response",
        "OperationService/Get",
        "works: `BatchCompletionMetadata` (batch counts) and `BatchCompletionResponse`; the "
        "result rows read with `textgen.Client`",
        "test_completion_then_get_until_done",
    ),
    Row(
        "`OperationServiceStub.Cancel`",
        "OperationService/Cancel",
        "works: the operation, done, with error CANCELLED",
        "test_cancel_and_a_bad_model_uri",
    ),
    Row(
        "`Completion` with a malformed URI (`gpt:///model/latest`)",
        "TextGenerationBatchService/Completion",
        "INVALID_ARGUMENT on `model_uri`",
        "test_cancel_and_a_bad_model_uri",
    ),
    Row(
        '`textgen.Client(api="yandex")` on an operation the stubs started',
        "OperationService/Get",
        "works: waits by polling Get, reads status and batch counts",
        "test_the_yandex_flavoured_client_reads_what_the_stubs_start",
    ),
]
