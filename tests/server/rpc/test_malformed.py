"""Bytes that are not a valid request get an error status and never take the server down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import grpc
import pytest
from google.rpc import error_details_pb2
from textgen.v1 import model_service_pb2, model_service_pb2_grpc, text_pb2

from tests.server.conftest import details

# Each is an invalid encoding: a truncated length-delimited field, a field with wire type 7
# (which does not exist), and a varint that never ends.
GARBAGE = [b"\x0a\xff\xff\xff\x0f", b"\x0f\x01", b"\x08" + b"\xff" * 11]
METHODS = [
    "/textgen.v1.ModelService/GenerateText",
    "/textgen.v1.ModelService/CountTokens",
    "/textgen.v1.TunedModelService/CreateTunedModel",
    "/textgen.v1.TextGenerationBatchService/Completion",
    "/google.longrunning.Operations/WaitOperation",
]


def _model_service(channel: grpc.aio.Channel) -> model_service_pb2_grpc.ModelServiceAsyncStub:
    # mypy-protobuf types a stub by its class, not by its channel: on a grpc.aio channel it is
    # the AsyncStub.
    return cast(
        "model_service_pb2_grpc.ModelServiceAsyncStub",
        model_service_pb2_grpc.ModelServiceStub(channel),
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("payload", GARBAGE, ids=["truncated", "bad-wire-type", "endless-varint"])
async def test_malformed_request_is_rejected_and_server_survives(
    channel: grpc.aio.Channel, method: str, payload: bytes
) -> None:
    # No serializers: send the bytes as they are.
    raw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await raw(payload, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = [d for d in details(caught.value) if isinstance(d, error_details_pb2.ErrorInfo)]
    assert info[0].reason == "MALFORMED_REQUEST"
    assert info[0].metadata["method"] == method

    stub = _model_service(channel)
    reply = await stub.CountTextTokens(
        model_service_pb2.CountTextTokensRequest(
            model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="still alive")
        ),
        timeout=5,
    )
    assert reply.token_count == 2


async def test_malformed_chunk_in_client_stream_is_rejected(channel: grpc.aio.Channel) -> None:
    upload: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(
        "/textgen.v1.DatasetService/UploadDataset"
    )

    async def requests() -> AsyncIterator[bytes]:
        yield b""  # an empty message decodes (every field unset)
        yield GARBAGE[0]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await upload(requests(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_well_formed_requests_still_decode(channel: grpc.aio.Channel) -> None:
    stub = _model_service(channel)
    request = model_service_pb2.GenerateTextRequest(
        model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="hello"), temperature=0
    )
    streamed = [chunk async for chunk in stub.StreamGenerateText(request, timeout=5)]
    assert streamed and all(len(chunk.candidates) == 1 for chunk in streamed)
