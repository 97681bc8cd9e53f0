"""The Yandex foundation-models flavour: batch Completion answered in Yandex's operation shape,
OperationService Get and Cancel over our store, `gpt://` model URIs, and the Yandex names in
health and reflection.

These tests call the Yandex paths with our own message classes (textgen.yandex_operation is
wire-identical to yandex.cloud.operation); tests/interop runs the yandexcloud stubs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from textgen.v1 import text_generation_batch_service_pb2 as batch_pb2

from tests.server.env import ALICE, KEYS, Env, as_user, violated_fields
from textgen import apis, yandex_operation
from textgen.server.app import Running, serve
from textgen.server.clock import MANUAL_EPOCH, ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.services.yandex_service import model_name
from textgen.server.state import IdGenerator, ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import Progression, ProgressionPacer
from textgen.yandex_operation import operation_id, operation_name

YFM = "/yandex.cloud.ai.foundation_models.v1"
COMPLETION = f"{YFM}.TextGenerationBatchService/Completion"
GET = "/yandex.cloud.operation.OperationService/Get"
CANCEL = "/yandex.cloud.operation.OperationService/Cancel"
URI = "gpt://b1gfolder/text-bison-001/latest"
METADATA_URL = "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.BatchCompletionMetadata"
RESPONSE_URL = "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.BatchCompletionResponse"


class Yandex:
    """A server with Alice's and Bob's keys, jobs advancing one stage per poll."""

    def __init__(self, running: Running, channel: grpc.aio.Channel, env: Env) -> None:
        self.running = running
        self.channel = channel
        self.env = env

    async def call(
        self, path: str, request: Message, user: str = ALICE, *, auth: str | None = None
    ) -> Any:
        metadata = as_user(user) if auth is None else (("authorization", auth),)
        call: Any = self.channel.unary_unary(
            path,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=yandex_operation.Operation.FromString,
        )
        return await call(request, metadata=metadata)

    async def complete(self, texts: list[str], uri: str = URI, user: str = ALICE) -> Any:
        dataset_id = await self.env.prompts(texts, owner=user)
        request = batch_pb2.BatchCompletionRequest(model_uri=uri, source_dataset_id=dataset_id)
        return await self.call(COMPLETION, request, user)

    async def until_done(self, operation: Any, user: str = ALICE) -> Any:
        for _ in range(50):
            if operation.done:
                return operation
            request = yandex_operation.GetOperationRequest(operation_id=operation.id)
            operation = await self.call(GET, request, user)
        raise AssertionError("the operation never finished")


@pytest.fixture
async def yandex(env: Env) -> AsyncIterator[Yandex]:
    # A server of our own (env's has no health or reflection), sharing env's state helpers.
    clock = ManualClock()
    state = ServerState(engine=FakeEngine(seed=0), clock=clock, ids=IdGenerator(0), api_keys=KEYS)
    pacer = ProgressionPacer(clock, Progression.after_polls())
    operations = Operations(clock, state.stores.operations, pacer=pacer)
    running = await serve(state, operations=operations)
    env.state, env.clock, env.operations = state, clock, operations
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        try:
            yield Yandex(running, channel, env)
        finally:
            await running.stop(0)


async def test_completion_answers_the_yandex_operation_shape(yandex: Yandex) -> None:
    started = await yandex.complete(["one", "two", "three"])
    assert not started.done
    assert started.id and "/" not in started.id
    assert started.description == "Batch completion"
    assert started.created_by == ALICE
    assert started.created_at.ToNanoseconds() == round(MANUAL_EPOCH * 1e9)
    assert started.modified_at == started.created_at
    assert started.metadata.type_url == METADATA_URL
    metadata = batch_pb2.BatchCompletionMetadata.FromString(started.metadata.value)
    assert metadata.task_id == started.id
    assert metadata.total_batches == 1

    await yandex.env.clock.advance(5.0)
    done = await yandex.until_done(started)
    assert done.id == started.id and done.created_at == started.created_at
    assert done.modified_at.ToNanoseconds() > done.created_at.ToNanoseconds()
    assert done.WhichOneof("result") == "response"
    assert done.response.type_url == RESPONSE_URL
    response = batch_pb2.BatchCompletionResponse.FromString(done.response.value)
    assert response.task_status == batch_pb2.COMPLETED
    results = await yandex.env.dataset(f"datasets/{response.result_dataset_id}")
    assert results.dataset.row_count == 3


async def test_the_operation_is_ours_under_its_google_name_too(yandex: Yandex) -> None:
    started = await yandex.complete(["x"])
    stored = await yandex.env.operations.get(operation_name(started.id), ALICE)
    assert stored.name == f"operations/{started.id}"
    assert stored.metadata.type_url == METADATA_URL  # packed as the creating flavour names it


@pytest.mark.parametrize(
    "uri",
    [
        "gpt://b1gfolder/text-bison-001",
        "gpt://b1gfolder/text-bison-001/latest",
        "gpt://b1gfolder/text-bison-001/rc",
        "gpt://b1gfolder/text-bison-001/deprecated",
        "models/text-bison-001",
    ],
)
async def test_model_uris_name_our_models(yandex: Yandex, uri: str) -> None:
    started = await yandex.complete(["x"], uri)
    assert started.created_by == ALICE


@pytest.mark.parametrize(
    "uri",
    [
        "gpt://",
        "gpt://b1gfolder",
        "gpt:///text-bison-001/latest",
        "gpt://b1gfolder//latest",
        "gpt://b1gfolder/text-bison-001/v2",
        "gpt://b1gfolder/text-bison-001/latest@tuned",
        "gpt://b1gfolder/text-bison-001/latest/extra",
        "emb://b1gfolder/text-search-doc/latest",
        "text-bison-001",
    ],
)
async def test_other_model_uris_are_invalid(yandex: Yandex, uri: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await yandex.complete(["x"], uri)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["model_uri"]


async def test_an_unknown_model_is_not_found(yandex: Yandex) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await yandex.complete(["x"], "gpt://b1gfolder/yandexgpt-lite/latest")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    message = caught.value.details() or ""
    assert "'models/yandexgpt-lite'" in message
    assert "'gpt://b1gfolder/yandexgpt-lite/latest'" in message


def test_model_name() -> None:
    assert model_name("gpt://f/yandexgpt/latest") == "models/yandexgpt"
    assert model_name("gpt://f/gemma-3-12b-it") == "models/gemma-3-12b-it"
    assert model_name("tunedModels/mine") == "tunedModels/mine"
    assert model_name("") == ""


def test_operation_ids() -> None:
    assert operation_id("operations/abc") == "abc"
    assert operation_name("abc") == "operations/abc"
    assert operation_id("tunedModels/t/operations/x") == "tunedModels/t/operations/x"
    assert operation_name("tunedModels/t/operations/x") == "tunedModels/t/operations/x"


async def test_another_principals_operation_is_not_found(yandex: Yandex) -> None:
    started = await yandex.complete(["x"])
    for path, kind in (
        (GET, yandex_operation.GetOperationRequest),
        (CANCEL, yandex_operation.CancelOperationRequest),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await yandex.call(path, kind(operation_id=started.id), "bob")
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await yandex.call(path, kind(operation_id="missing"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_operation_id_is_required(yandex: Yandex) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await yandex.call(GET, yandex_operation.GetOperationRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["operation_id"]


async def test_cancel_ends_the_operation_cancelled(yandex: Yandex) -> None:
    started = await yandex.complete(["x"])
    await yandex.env.clock.advance(2.0)
    request = yandex_operation.CancelOperationRequest(operation_id=started.id)
    cancelled = await yandex.call(CANCEL, request)
    assert cancelled.done and cancelled.error.code == grpc.StatusCode.CANCELLED.value[0]
    assert cancelled.modified_at.ToNanoseconds() == round((MANUAL_EPOCH + 2.0) * 1e9)
    metadata = batch_pb2.BatchCompletionMetadata.FromString(cancelled.metadata.value)
    assert metadata.task_status == batch_pb2.CANCELED


async def test_yandex_auth_headers(yandex: Yandex) -> None:
    started = await yandex.complete(["x"])
    request = yandex_operation.GetOperationRequest(operation_id=started.id)
    for auth in ("Api-Key key-alice", "Bearer key-alice"):
        assert (await yandex.call(GET, request, auth=auth)).id == started.id
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await yandex.call(GET, request, auth="Api-Key wrong")
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unknown_fields_are_refused(yandex: Yandex) -> None:
    request = yandex_operation.GetOperationRequest(operation_id="x")
    data = request.SerializeToString() + b"\x10\x01"  # field 2, varint 1
    call: Any = yandex.channel.unary_unary(GET, request_serializer=lambda raw: raw)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(data, metadata=as_user(ALICE))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(caught.value) == ["#2"]


@pytest.mark.parametrize(
    "path",
    [
        f"{YFM}.TextGenerationService/Completion",
        f"{YFM}.TextGenerationAsyncService/Completion",
        "/yandex.cloud.ai.dataset.v1.DatasetService/Describe",
        "/yandex.cloud.operation.OperationService/List",
    ],
)
async def test_other_yandex_paths_are_not_offered(yandex: Yandex, path: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await yandex.call(path, yandex_operation.GetOperationRequest())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "not offered by this emulator" in (caught.value.details() or "")


async def test_health_and_reflection_list_the_yandex_services(yandex: Yandex) -> None:
    names = (
        "yandex.cloud.ai.foundation_models.v1.TextGenerationBatchService",
        "yandex.cloud.operation.OperationService",
    )
    check: Any = yandex.channel.unary_unary(
        "/grpc.health.v1.Health/Check",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    for name in names:
        answer = await check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflect: Any = yandex.channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    asks = [reflection_pb2.ServerReflectionRequest(list_services="")] + [
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=name) for name in names
    ]
    answers = [answer async for answer in reflect(iter(asks))]
    listed = {service.name for service in answers[0].list_services_response.service}
    assert set(names) <= listed
    assert all(answer.HasField("file_descriptor_response") for answer in answers[1:])


def test_the_operation_message_matches_yandex_numbers() -> None:
    fields = {f.name: f.number for f in yandex_operation.Operation.DESCRIPTOR.fields}
    assert fields == {
        "id": 1,
        "description": 2,
        "created_at": 3,
        "created_by": 4,
        "modified_at": 5,
        "done": 6,
        "metadata": 7,
        "error": 8,
        "response": 9,
    }
    oneof = yandex_operation.Operation.DESCRIPTOR.oneofs_by_name["result"]
    assert [f.name for f in oneof.fields] == ["error", "response"]


def test_an_operation_read_as_googles_is_not_the_same() -> None:
    # Why a shape of its own: the numbers collide, so Google's reading is garbage.
    shaped = yandex_operation.Operation(id="abc", done=True)
    google = operations_pb2.Operation.FromString(shaped.SerializeToString())
    assert not google.done


def test_the_yandex_table() -> None:
    inference = "/yandex.cloud.ai.batch_inference.v1.BatchInferenceService/"
    tasks = [inference + method for method in ("Describe", "List", "Cancel", "Delete")]
    assert [method.path for method in apis.YANDEX_API.methods()] == [
        COMPLETION,
        GET,
        CANCEL,
        *tasks,
    ]
    assert apis.type_url(apis.YANDEX, "textgen.v1.BatchCompletionResponse") == RESPONSE_URL
    assert apis.type_url(apis.YANDEX, "textgen.v1.BatchCompletionMetadata") == METADATA_URL
    yandex_name = METADATA_URL.removeprefix("type.googleapis.com/")
    assert apis.canonical_type_name(yandex_name) == "textgen.v1.BatchCompletionMetadata"
