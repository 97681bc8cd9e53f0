"""Yandex's BatchInferenceService over our batch operations, called with our own mirrored
messages (textgen.yandex_batch; tests/interop runs yandexcloud's stubs and ML SDK).

The server is test_yandex_service's: Alice's and Bob's keys, a manual clock, and jobs that
advance one stage per poll, so a Describe moves a task on as OperationService.Get does.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import code_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.env import ALICE, BOB, as_user, violated_fields
from tests.server.services import test_yandex_service
from tests.server.services.test_yandex_service import Yandex
from textgen import yandex_batch
from textgen.server.clock import MANUAL_EPOCH
from textgen.server.services.yandex_batch_inference import model_uri

SERVICE = "/yandex.cloud.ai.batch_inference.v1.BatchInferenceService/"
FOLDER = "b1gfolder"
STATUS = yandex_batch.STATUS
# test_yandex_service's server, as a fixture of this module too.
yandex = test_yandex_service.yandex


RESPONSES = {
    "Describe": yandex_batch.DescribeBatchInferenceResponse,
    "List": yandex_batch.ListBatchInferencesResponse,
    "Cancel": yandex_batch.CancelBatchInferenceResponse,
    "Delete": yandex_batch.DeleteBatchInferenceResponse,
}


async def call(
    server: Yandex, method: str, request: Message, user: str = ALICE, folder: str = FOLDER
) -> Any:
    metadata = (*as_user(user), ("x-folder-id", folder)) if folder else as_user(user)
    stub: Any = server.channel.unary_unary(
        SERVICE + method,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=RESPONSES[method].FromString,
    )
    return await stub(request, metadata=metadata)


async def our_completion(server: Yandex, texts: list[str], user: str = ALICE) -> str:
    # A task started by textgen.v1's own Completion; its task id.
    dataset_id = await server.env.prompts(texts, owner=user)
    request = batch_pb2.BatchCompletionRequest(
        model_uri="models/text-bison-001", source_dataset_id=dataset_id
    )
    stub: Any = server.channel.unary_unary(
        "/textgen.v1.TextGenerationBatchService/Completion",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=lambda data: data,
    )
    await stub(request, metadata=as_user(user))
    [operation] = await server.running.operations.list(user, "operations")
    metadata = batch_pb2.BatchCompletionMetadata.FromString(operation.metadata.value)
    return metadata.task_id


async def test_a_task_started_by_our_own_path_is_described(yandex: Yandex) -> None:
    task_id = await our_completion(yandex, ["one", "two"])
    describe = yandex_batch.DescribeBatchInferenceRequest(task_id=task_id)
    first = (await call(yandex, "Describe", describe)).task
    assert first.status in (STATUS["CREATED"], STATUS["PENDING"])
    assert not first.HasField("finished_at") and not first.result_dataset_id
    assert first.created_at.ToNanoseconds() == round(MANUAL_EPOCH * 1e9)

    await yandex.env.clock.advance(5.0)
    for _ in range(10):
        task = (await call(yandex, "Describe", describe)).task
        if task.status == STATUS["COMPLETED"]:
            break
    assert task.status == STATUS["COMPLETED"] and task.operation_id == task_id
    assert task.finished_at.ToNanoseconds() == round((MANUAL_EPOCH + 5.0) * 1e9)
    assert task.started_at == task.created_at
    assert task.model_uri == f"gpt://{FOLDER}/text-bison-001/latest"
    assert task.result_dataset_id and task.source_dataset_id
    assert task.created_by == ALICE and task.folder_id == FOLDER

    # Without a folder the model keeps our name; the folder is empty.
    anonymous = (await call(yandex, "Describe", describe, folder="")).task
    assert (anonymous.folder_id, anonymous.model_uri) == ("", "models/text-bison-001")


async def test_list_shows_only_the_callers_tasks(yandex: Yandex) -> None:
    alice = await our_completion(yandex, ["a"])
    await our_completion(yandex, ["b"], user=BOB)
    listing = yandex_batch.ListBatchInferencesRequest(folder_id="any")
    tasks = (await call(yandex, "List", listing)).tasks
    assert [task.task_id for task in tasks] == [alice]
    assert tasks[0].folder_id == "any" and tasks[0].created_by == ALICE

    running = yandex_batch.ListBatchInferencesRequest(folder_id="any", status=STATUS["COMPLETED"])
    assert list((await call(yandex, "List", running)).tasks) == []


async def test_cancel_delete_and_their_errors(yandex: Yandex) -> None:
    task_id = await our_completion(yandex, ["a"])
    delete = yandex_batch.DeleteBatchInferenceRequest(task_id=task_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(yandex, "Delete", delete)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    cancel = yandex_batch.CancelBatchInferenceRequest(task_id=task_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(yandex, "Cancel", cancel, user=BOB)  # not Bob's
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await call(yandex, "Cancel", cancel)).task_id == task_id
    describe = yandex_batch.DescribeBatchInferenceRequest(task_id=task_id)
    task = (await call(yandex, "Describe", describe)).task
    assert task.status == STATUS["CANCELED"]
    assert task.errors.status.code == code_pb2.CANCELLED

    assert (await call(yandex, "Delete", delete)).task_id == task_id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(yandex, "Describe", describe)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    bad = yandex_batch.ListBatchInferencesRequest(folder_id=FOLDER, status=9)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(yandex, "List", bad)
    assert violated_fields(caught.value) == ["status"]


def test_model_uris() -> None:
    assert model_uri("models/x", "f") == "gpt://f/x/latest"
    assert model_uri("models/x", "") == "models/x"
    assert model_uri("tunedModels/t", "f") == "tunedModels/t"
