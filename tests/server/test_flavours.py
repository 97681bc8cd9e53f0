"""The server answers the Generative Language v1beta names with our servicers: the same answers
as on our paths, operations packed with that API's type URLs, UNIMPLEMENTED for what it does
not offer, and health and reflection that list and describe the upstream services.

These tests speak to the upstream paths with our own message classes (they are wire-identical),
so they run without Google's package; tests/interop runs Google's own client.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, cast

import grpc
import pytest
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from textgen.v1 import (
    content_pb2,
    model_pb2,
    model_service_pb2,
    text_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
)

from tests.server.conftest import details
from tests.server.rpc.test_auth_every_method import _call as call_raw
from textgen import apis, contract
from textgen.server.app import Running
from textgen.server.clock import ManualClock
from textgen.server.flavours import FlavourHandler, alias_files
from textgen.server.rpc.routing import Routes
from textgen.server.state import ServerState

GL = "google.ai.generativelanguage.v1beta"
FLASH = "models/gemini-1.5-flash"


def call(channel: grpc.aio.Channel, path: str, response: type[Message]) -> Any:
    """A unary multicallable for `path` with our message classes."""
    return channel.unary_unary(
        path,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response.FromString,
    )


def contents(text: str) -> list[content_pb2.Content]:
    return [content_pb2.Content(role="user", parts=[content_pb2.Part(text=text)])]


UNARY = [
    (
        "GenerativeService/GenerateContent",
        model_service_pb2.GenerateContentRequest(model=FLASH, contents=contents("Say hello")),
        model_service_pb2.GenerateContentResponse,
    ),
    (
        "GenerativeService/CountTokens",
        model_service_pb2.CountTokensRequest(model=FLASH, contents=contents("Count me")),
        model_service_pb2.CountTokensResponse,
    ),
    (
        "GenerativeService/EmbedContent",
        model_service_pb2.EmbedContentRequest(
            model="models/text-embedding-004", content=contents("x")[0]
        ),
        model_service_pb2.EmbedContentResponse,
    ),
    (
        "TextService/GenerateText",
        model_service_pb2.GenerateTextRequest(
            model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="Write a haiku")
        ),
        model_service_pb2.GenerateTextResponse,
    ),
    (
        "ModelService/GetModel",
        model_service_pb2.GetModelRequest(name="models/text-bison-001"),
        model_pb2.Model,
    ),
    (
        "ModelService/ListModels",
        model_service_pb2.ListModelsRequest(page_size=3),
        model_service_pb2.ListModelsResponse,
    ),
]


@pytest.mark.parametrize(("method", "request_", "response"), UNARY, ids=[u[0] for u in UNARY])
async def test_an_upstream_path_answers_as_our_own(
    channel: grpc.aio.Channel, method: str, request_: Message, response: type[Message]
) -> None:
    upstream = await call(channel, f"/{GL}.{method}", response)(request_)
    canonical = next(
        m.canonical for m in apis.GENERATIVE_LANGUAGE_API.methods() if m.path == f"/{GL}.{method}"
    )
    ours = await call(channel, canonical, response)(request_)
    assert upstream == ours
    assert upstream.ByteSize() > 0


async def test_the_streamed_path_answers_as_our_own(channel: grpc.aio.Channel) -> None:
    request = model_service_pb2.GenerateContentRequest(model=FLASH, contents=contents("A story"))

    async def chunks(path: str) -> list[model_service_pb2.GenerateContentResponse]:
        stream = channel.unary_stream(
            path,
            request_serializer=model_service_pb2.GenerateContentRequest.SerializeToString,
            response_deserializer=model_service_pb2.GenerateContentResponse.FromString,
        )
        return [chunk async for chunk in stream(request)]

    upstream = await chunks(f"/{GL}.GenerativeService/StreamGenerateContent")
    assert len(upstream) > 1
    assert upstream == await chunks("/textgen.v1.ModelService/StreamGenerateContent")


def tuning_request(tuned_id: str) -> tuned_model_service_pb2.CreateTunedModelRequest:
    examples = [tuned_model_pb2.TuningExample(text_input=i, output=o) for i, o in [("I", "II")]]
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model_id=tuned_id,
        tuned_model=tuned_model_pb2.TunedModel(
            base_model="models/gemini-1.0-pro-001",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=examples)
                )
            ),
        ),
    )


async def test_operations_carry_the_type_urls_of_the_api_that_started_them(
    running: Running, channel: grpc.aio.Channel
) -> None:
    create = f"{GL}.ModelService/CreateTunedModel"
    started = await call(channel, f"/{create}", operations_pb2.Operation)(tuning_request("g"))
    ours = await call(
        channel, "/textgen.v1.TunedModelService/CreateTunedModel", operations_pb2.Operation
    )(tuning_request("t"))
    assert started.metadata.type_url == f"type.googleapis.com/{GL}.CreateTunedModelMetadata"
    assert ours.metadata.type_url == "type.googleapis.com/textgen.v1.CreateTunedModelMetadata"
    # The payload is our message under the upstream name: the bytes read as ours.
    metadata = tuned_model_service_pb2.CreateTunedModelMetadata.FromString(started.metadata.value)
    assert metadata.tuned_model == "tunedModels/g"

    clock = running.state.clock
    assert isinstance(clock, ManualClock)
    await clock.advance(60)
    stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
    # Updates and the response keep each operation's flavour, whoever reads it.
    done = {
        op.name.split("/")[1]: op
        for op in (await stub.ListOperations(operations_pb2.ListOperationsRequest())).operations
    }
    assert done["g"].done and done["t"].done
    assert done["g"].response.type_url == f"type.googleapis.com/{GL}.TunedModel"
    assert done["g"].metadata.type_url == started.metadata.type_url
    assert done["t"].response.type_url == "type.googleapis.com/textgen.v1.TunedModel"
    stored = await running.state.stores.operations.get(done["g"].name)
    assert stored is not None and stored.record.api == "generativelanguage"


NOT_OFFERED = [
    f"/{GL}.GenerativeService/GenerateAnswer",
    f"/{GL}.CacheService/ListCachedContents",
    f"/{GL}.RetrieverService/QueryCorpus",
    "/google.ai.generativelanguage.v1.GenerativeService/GenerateContent",
]


@pytest.mark.parametrize("path", NOT_OFFERED)
async def test_an_upstream_method_not_offered_is_unimplemented(
    channel: grpc.aio.Channel, path: str
) -> None:
    raw: Any = channel.unary_unary(path)  # bytes in and out
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await raw(b"\x0a\x03abc")
    error = refused.value
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    assert error.details() == (
        f"{path[1:]} is not offered by this emulator: of the generativelanguage API it serves "
        "only the methods its contract mirrors (see the textgen-grpc README)"
    )
    [info] = details(error)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.metadata["method"]) == ("METHOD_NOT_OFFERED", path[1:])


async def test_a_live_session_is_refused_before_any_message(channel: grpc.aio.Channel) -> None:
    session: Any = channel.stream_stream(f"/{GL}.GenerativeService/BidiGenerateContent")

    async def never() -> Any:
        # The refusal must not wait for the client's first message.
        await asyncio.Event().wait()
        yield b""

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in session(never()):
            pass
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_health_reports_the_upstream_services(channel: grpc.aio.Channel) -> None:
    check = call(channel, "/grpc.health.v1.Health/Check", health_pb2.HealthCheckResponse)
    for name in Routes(apis.UPSTREAM).services():
        reply = await check(health_pb2.HealthCheckRequest(service=name))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def reflect(
    channel: grpc.aio.Channel, *requests: reflection_pb2.ServerReflectionRequest
) -> list[reflection_pb2.ServerReflectionResponse]:
    session = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    return [answer async for answer in session(iter(requests))]


def files(answer: reflection_pb2.ServerReflectionResponse) -> dict[str, Any]:
    found = {}
    for data in answer.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto.FromString(data)
        found[proto.name] = proto
    return found


async def test_reflection_lists_and_describes_the_upstream_services(
    channel: grpc.aio.Channel,
) -> None:
    listed, service, by_name, ours = await reflect(
        channel,
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=f"{GL}.TextService"),
        reflection_pb2.ServerReflectionRequest(
            file_by_filename="textgen/apis/google/ai/generativelanguage/v1beta.proto"
        ),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="textgen.v1.ModelService"),
    )
    names = {entry.name for entry in listed.list_services_response.service}
    assert {f"{GL}.{name}" for name in ("GenerativeService", "TextService")} <= names
    assert "textgen.v1.ModelService" in names

    declared = files(service)
    alias = declared["textgen/apis/google/ai/generativelanguage/v1beta.proto"]
    assert alias.package == GL
    text = next(s for s in alias.service if s.name == "TextService")
    generate = next(m for m in text.method if m.name == "GenerateText")
    assert (generate.input_type, generate.output_type) == (
        ".textgen.v1.GenerateTextRequest",
        ".textgen.v1.GenerateTextResponse",
    )
    # The files the declaration uses come with it, so a tool can build the messages.
    assert {"textgen/v1/model_service.proto", "textgen/v1/tuned_model.proto"} <= set(declared)
    assert set(files(by_name)) == set(declared)
    assert "textgen/v1/model_service.proto" in files(ours)
    assert (
        declared["textgen/v1/model_service.proto"] == files(ours)["textgen/v1/model_service.proto"]
    )


def test_the_declared_files_hold_every_route() -> None:
    routes = Routes(apis.UPSTREAM)
    declared = {
        f"/{proto.package}.{service.name}/{method.name}"
        for proto in alias_files(apis.UPSTREAM)  # one file per upstream package
        for service in proto.service
        for method in service.method
    }
    assert len(declared) == len(routes)
    assert all(routes.route(path) is not None for path in declared)


class Details:
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


class Echo(grpc.GenericRpcHandler):
    """Stands in for our services: one handler per path, as grpc's generic handler has."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any]:
        async def echo(request: Any, context: Any) -> Any:
            return request

        return self.handlers.setdefault(details.method, grpc.unary_unary_rpc_method_handler(echo))


def junk(count: int) -> Iterator[grpc.HandlerCallDetails]:
    for number in range(count):
        yield cast("grpc.HandlerCallDetails", Details(f"/{GL}.GenerativeService/Junk{number}"))


def test_the_flavour_handler_keeps_one_handler_per_route_and_none_for_junk() -> None:
    ours = Echo()
    services = {"textgen.v1.ModelService": ours, "textgen.v1.TunedModelService": ours}
    handler = FlavourHandler(Routes(apis.UPSTREAM), services)
    path = f"/{GL}.TextService/GenerateText"
    first = handler.service(cast("grpc.HandlerCallDetails", Details(path)))
    assert first is ours.handlers["/textgen.v1.ModelService/GenerateText"]
    assert handler.service(cast("grpc.HandlerCallDetails", Details(path))) is first
    refusals = [handler.service(details) for details in junk(500)]
    assert all(found is not None and found.request_deserializer is None for found in refusals)
    assert handler.cached == 1
    assert handler.service(cast("grpc.HandlerCallDetails", Details("/other.S/M"))) is None


# Started in a fresh interpreter, so that what is imported shows what the server loaded.
_FIRST_CALLS = """
import asyncio, sys
import grpc
from textgen.server.app import serve
from textgen.server.state import ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.v1 import model_pb2, model_service_pb2, tuned_model_service_pb2 as tuned

TUNED = "textgen.server.services.tuned_model_service"
GL = "/google.ai.generativelanguage.v1beta"


async def main():
    running = await serve(ServerState(engine=FakeEngine()), health=False, reflection=False)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        model = await channel.unary_unary(
            GL + ".ModelService/GetModel",
            request_serializer=model_service_pb2.GetModelRequest.SerializeToString,
            response_deserializer=model_pb2.Model.FromString,
        )(model_service_pb2.GetModelRequest(name="models/text-bison-001"))
        print(model.name, TUNED in sys.modules)
        await channel.unary_unary(
            GL + ".ModelService/ListTunedModels",
            request_serializer=tuned.ListTunedModelsRequest.SerializeToString,
            response_deserializer=tuned.ListTunedModelsResponse.FromString,
        )(tuned.ListTunedModelsRequest())
        print(TUNED in sys.modules)
    await running.stop(None)


asyncio.run(main())
"""


def test_upstream_paths_keep_services_built_on_their_first_call() -> None:
    found = subprocess.run(
        [sys.executable, "-c", _FIRST_CALLS], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert found[:2] == ["models/text-bison-001 False", "True"]


UPSTREAM_METHODS = [
    (method.path, contract.streaming_kind(method.descriptor))
    for method in apis.GENERATIVE_LANGUAGE_API.methods()
    if method.path != method.canonical
] + [(f"/{GL}.GenerativeService/GenerateAnswer", "unary")]


@pytest.mark.parametrize(("method", "kind"), UPSTREAM_METHODS, ids=[m for m, _ in UPSTREAM_METHODS])
async def test_every_upstream_path_checks_the_key_first(
    state: ServerState, running: Running, channel: grpc.aio.Channel, method: str, kind: str
) -> None:
    state.api_keys.update({"key-a": "alice"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call_raw(channel, method, kind, b"\xff\xff\xff", (("x-goog-api-key", "wrong"),))
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, caught.value.details()
