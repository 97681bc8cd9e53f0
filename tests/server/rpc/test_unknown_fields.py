"""A request carrying a field the contract does not define is refused, with the field's path,
and requests without one are served as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from textgen.v1 import (
    content_pb2,
    dataset_pb2,
    dataset_service_pb2,
    generation_pb2,
    message_pb2,
    model_service_pb2,
    text_pb2,
)

from tests.server.conftest import details
from tests.wire import varint
from textgen.server.rpc.aio_types import Handler
from textgen.server.rpc.unknown_fields import LISTED, UnknownFields, received_encoding
from textgen.server.services import dataset_service
from textgen.server.state import ServerState
from textgen.server.validation.prompt_rows import check_prompt_chunk

M = TypeVar("M", bound=Message)
CONTENT_MODEL = "models/gemini-1.5-flash"
# Numbers no message of the contract or of the upstream APIs uses.
STRAY = 99


def unknown_field(number: int, value: int | bytes = 1) -> bytes:
    """Field `number` on the wire: a varint for an int, length-delimited for bytes."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def carrying(message: M, *fields: bytes) -> M:
    """A copy of `message` that also holds `fields`, which its type does not define."""
    return type(message).FromString(message.SerializeToString() + b"".join(fields))


def request(*contents: content_pb2.Content) -> model_service_pb2.GenerateContentRequest:
    turns = contents or (content_pb2.Content(role="user", parts=[content_pb2.Part(text="Hi")]),)
    return model_service_pb2.GenerateContentRequest(model=CONTENT_MODEL, contents=turns)


def bad_request(error: grpc.aio.AioRpcError) -> error_details_pb2.BadRequest:
    (found,) = [d for d in details(error) if isinstance(d, error_details_pb2.BadRequest)]
    return found


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    (found,) = [d for d in details(error) if isinstance(d, error_details_pb2.ErrorInfo)]
    return found


def violations(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in bad_request(error).field_violations]


async def _echo(request: Any, context: Any) -> Any:
    return request


async def refused(call: Any, message: Message) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(message, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return caught.value


async def test_unknown_top_level_field(models: Any) -> None:
    error = await refused(models.GenerateContent, carrying(request(), unknown_field(STRAY)))
    description = f"field {STRAY} of textgen.v1.GenerateContentRequest is not known to this server"
    assert violations(error) == [(f"#{STRAY}", description)]
    assert [v.reason for v in bad_request(error).field_violations] == ["UNSUPPORTED_FIELD"]
    info = error_info(error)
    assert (info.reason, info.domain) == ("UNSUPPORTED_FIELD", "textgen.dev")
    assert info.metadata["field"] == f"#{STRAY}"
    assert error.details() == f"Invalid request: #{STRAY}: {description}"


async def test_unknown_field_inside_a_repeated_message(models: Any) -> None:
    part = carrying(content_pb2.Part(text="second"), unknown_field(STRAY, b"x"))
    turn = content_pb2.Content(role="user", parts=[content_pb2.Part(text="first"), part])
    error = await refused(models.GenerateContent, request(turn))
    assert violations(error) == [
        (
            f"contents[0].parts[1].#{STRAY}",
            f"field {STRAY} of textgen.v1.Part is not known to this server",
        )
    ]


async def test_upstream_fields_are_named(models: Any) -> None:
    # google_search (4) on Tool and response_modalities (20) on GenerationConfig: fields of the
    # upstream API that this contract leaves out.
    message = request()
    message.tools.append(carrying(content_pb2.Tool(), unknown_field(4, b"")))
    message.generation_config.CopyFrom(
        carrying(generation_pb2.GenerationConfig(temperature=0.5), unknown_field(20, 1))
    )
    error = await refused(models.GenerateContent, message)
    assert violations(error) == [
        (
            "generation_config.response_modalities",
            "`response_modalities` (field 20 of textgen.v1.GenerationConfig) "
            "is not supported by this server",
        ),
        (
            "tools[0].google_search",
            "`google_search` (field 4 of textgen.v1.Tool) is not supported by this server",
        ),
    ]


async def test_unknown_field_inside_a_map_value(models: Any) -> None:
    city = carrying(struct_pb2.Value(string_value="Paris"), unknown_field(STRAY))
    args = struct_pb2.Struct()
    args.fields["city"].CopyFrom(city)
    call = content_pb2.FunctionCall(name="weather", args=args)
    turn = content_pb2.Content(role="model", parts=[content_pb2.Part(function_call=call)])
    error = await refused(models.GenerateContent, request(request().contents[0], turn))
    assert [field for field, _ in violations(error)] == [
        f'contents[1].parts[0].function_call.args.fields["city"].#{STRAY}'
    ]


async def test_a_field_sent_in_many_turns_is_listed_a_bounded_number_of_times(
    models: Any,
) -> None:
    part = carrying(content_pb2.Part(text="turn"), unknown_field(STRAY))
    turns = [content_pb2.Content(role="user", parts=[part]) for _ in range(LISTED + 5)]
    error = await refused(models.GenerateContent, request(*turns))
    listed = violations(error)
    assert [field for field, _ in listed] == [
        f"contents[{n}].parts[0].#{STRAY}" for n in range(LISTED)
    ]
    assert listed[-1][1].endswith(f"more unknown fields follow, only {LISTED} are listed")


async def test_a_field_repeated_in_one_message_is_listed_once(models: Any) -> None:
    message = carrying(request(), unknown_field(STRAY, 1), unknown_field(STRAY, 2))
    error = await refused(models.GenerateContent, message)
    assert [field for field, _ in violations(error)] == [f"#{STRAY}"]


async def test_server_streaming_method(models: Any) -> None:
    message = carrying(request(), unknown_field(STRAY))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in models.StreamGenerateContent(message, timeout=5):
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in violations(caught.value)] == [f"#{STRAY}"]


async def test_each_message_of_a_client_stream(datasets: Any) -> None:
    header = dataset_service_pb2.UploadDatasetRequest(
        header=dataset_service_pb2.UploadDatasetHeader(
            dataset=dataset_pb2.Dataset(display_name="rows"), dataset_id="streamed"
        )
    )
    row = carrying(dataset_pb2.DatasetPrompt(text="second row"), unknown_field(STRAY))
    chunk = dataset_service_pb2.UploadDatasetRequest(
        chunk=dataset_service_pb2.UploadDatasetChunk(
            rows=[dataset_pb2.DatasetPrompt(text="first row"), row]
        )
    )

    async def stream() -> AsyncIterator[dataset_service_pb2.UploadDatasetRequest]:
        yield header
        yield chunk

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await datasets.UploadDataset(stream(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(caught.value) == [
        (
            f"chunk.rows[1].#{STRAY}",
            f"field {STRAY} of textgen.v1.DatasetPrompt is not known to this server "
            "(in request 2 of the stream)",
        )
    ]
    listed = await datasets.ListDatasets(dataset_service_pb2.ListDatasetsRequest(), timeout=5)
    assert not listed.datasets  # the upload was abandoned, nothing was created


async def test_requests_without_unknown_fields_are_served(models: Any, datasets: Any) -> None:
    reply = await models.GenerateContent(request(), timeout=5)
    assert reply.candidates[0].content.parts[0].text
    streamed = [chunk async for chunk in models.StreamGenerateContent(request(), timeout=5)]
    assert streamed

    async def stream() -> AsyncIterator[dataset_service_pb2.UploadDatasetRequest]:
        yield dataset_service_pb2.UploadDatasetRequest(
            header=dataset_service_pb2.UploadDatasetHeader(dataset=dataset_pb2.Dataset())
        )
        yield dataset_service_pb2.UploadDatasetRequest(
            chunk=dataset_service_pb2.UploadDatasetChunk(rows=[dataset_pb2.DatasetPrompt(text="a")])
        )

    uploaded = await datasets.UploadDataset(stream(), timeout=5)
    assert uploaded.name


async def test_a_non_canonical_encoding_is_not_taken_for_unknown_fields(
    channel: grpc.aio.Channel,
) -> None:
    # `model` sent twice (the last one counts) and the prompt in two pieces (they merge): the
    # request re-encodes shorter than it arrived, with nothing unknown in it.
    message = model_service_pb2.CountTextTokensRequest(
        model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="two tokens")
    )
    data = (
        unknown_field(1, b"models/elsewhere")
        + unknown_field(2, text_pb2.TextPrompt(text="dropped").SerializeToString())
        + message.SerializeToString()
    )
    decoded = model_service_pb2.CountTextTokensRequest.FromString(data)
    assert decoded == message
    assert decoded.ByteSize() < len(data)
    raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        "/textgen.v1.ModelService/CountTextTokens"
    )
    answer = model_service_pb2.CountTextTokensResponse.FromString(await raw(data, timeout=5))
    assert answer.token_count == 2


async def test_the_caller_is_authenticated_first(models: Any, state: ServerState) -> None:
    state.api_keys["key-a"] = "alice"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await models.GenerateContent(carrying(request(), unknown_field(STRAY)), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_deserializer_hands_on_a_clean_request_as_decoded() -> None:
    handler: Handler = grpc.unary_unary_rpc_method_handler(
        _echo, request_deserializer=model_service_pb2.GenerateContentRequest.FromString
    )
    wrapped = UnknownFields().wrap("/textgen.v1.ModelService/GenerateContent", handler)
    assert wrapped.request_deserializer is not None
    data = request().SerializeToString()
    decoded = wrapped.request_deserializer(data)
    assert isinstance(decoded, model_service_pb2.GenerateContentRequest)
    assert decoded.SerializeToString() == data


def test_a_method_without_deserializer_is_left_alone() -> None:
    handler: Handler = grpc.unary_unary_rpc_method_handler(_echo)
    assert UnknownFields().wrap("/raw/Bytes", handler) is handler


async def test_upstream_fields_the_contract_defines_are_accepted(models: Any) -> None:
    # thought_signature (13) was an unknown field until the contract added it to Part.
    part = content_pb2.Part(text="Hi", thought_signature=b"opaque")
    reply = await models.GenerateContent(
        request(content_pb2.Content(role="user", parts=[part])), timeout=5
    )
    assert reply.candidates


def test_the_bytes_of_a_streamed_request_let_through_are_at_hand() -> None:
    decode = model_service_pb2.GenerateContentRequest.FromString
    streamed: Handler = grpc.stream_unary_rpc_method_handler(_echo, request_deserializer=decode)
    wrapped = UnknownFields().wrap("/textgen.v1.ModelService/Streamed", streamed)
    assert wrapped.request_deserializer is not None
    # Not protobuf's encoding (the model sent twice), and the bytes are kept as they came.
    data = unknown_field(1, b"models/other") + request().SerializeToString()
    decoded = wrapped.request_deserializer(data)
    assert received_encoding(decoded) == data
    assert received_encoding(request()) is None  # an equal request, but not that one
    refused = wrapped.request_deserializer(data + unknown_field(STRAY))
    assert not isinstance(refused, Message)
    assert received_encoding(decoded) == data  # a refused message is not remembered
    # A request that is not streamed is not remembered.
    single: Handler = grpc.unary_unary_rpc_method_handler(_echo, request_deserializer=decode)
    unary = UnknownFields().wrap("/textgen.v1.ModelService/GenerateContent", single)
    assert unary.request_deserializer is not None
    assert received_encoding(unary.request_deserializer(data)) is None


def known(number: int, payload: bytes) -> bytes:
    """A length-delimited field the message does define."""
    return unknown_field(number, payload)


def message_bytes(content: str) -> bytes:
    return message_pb2.Message(content=content).SerializeToString()


async def upload_raw(channel: grpc.aio.Channel, chunk: bytes) -> bytes:
    """UploadDataset of one chunk, sent as the bytes `chunk` (UploadDatasetChunk's)."""
    header = dataset_service_pb2.UploadDatasetRequest(
        header=dataset_service_pb2.UploadDatasetHeader(dataset=dataset_pb2.Dataset())
    ).SerializeToString()
    raw: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(
        "/textgen.v1.DatasetService/UploadDataset"
    )
    answer: bytes = await raw(iter([header, known(2, chunk)]), timeout=5)
    return answer


async def test_an_upload_is_stored_as_its_chunks_came(
    channel: grpc.aio.Channel, datasets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows encoded the way another client might (a text sent twice, a conversation in two
    # pieces): the servicer is handed the bytes they came in, stores them, and they read back
    # as the rows they decode to.
    handed: list[bytes | None] = []

    def check(chunk: Any, prefix: str, request_encoding: bytes | None = None) -> bytes:
        handed.append(request_encoding)
        return check_prompt_chunk(chunk, prefix, request_encoding)

    monkeypatch.setattr(dataset_service, "check_prompt_chunk", check)
    rows = [
        known(1, b"first") + known(1, b"second"),
        known(2, known(1, message_bytes("a"))) + known(2, known(1, message_bytes("b"))),
    ]
    chunk = b"".join(known(1, row) for row in rows)
    assert b"\x00" not in chunk
    created = dataset_pb2.Dataset.FromString(await upload_raw(channel, chunk))
    assert handed == [known(2, chunk)]
    assert created.row_count == 2
    listed = await datasets.ListDatasetRows(
        dataset_service_pb2.ListDatasetRowsRequest(dataset=created.name), timeout=5
    )
    assert [row.prompt for row in listed.rows] == list(
        dataset_service_pb2.UploadDatasetChunk.FromString(chunk).rows
    )
    assert listed.rows[0].prompt.text == "second"
    assert [m.content for m in listed.rows[1].prompt.messages.messages] == ["a", "b"]


async def test_a_bad_row_sent_another_way_is_still_refused(channel: grpc.aio.Channel) -> None:
    # A conversation, replaced by a text, replaced by an empty list: the row's conversation
    # is empty.
    row = known(2, known(1, message_bytes("a"))) + known(1, b"t") + known(2, b"")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await upload_raw(channel, known(1, row))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [field for field, _ in violations(caught.value)] == ["chunk.rows[0].messages.messages"]
