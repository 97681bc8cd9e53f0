"""With keys configured, every RPC of the contract answers UNAUTHENTICATED to a caller without a
valid key, before it looks at the request: a valid empty request, undecodable bytes and a
request that would fail validation all get the same answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.longrunning import operations_proto_pb2
from textgen.v1 import dataset_service_pb2

from textgen import contract
from textgen.server.app import Running
from textgen.server.state import ServerState

KEYS = {"key-a": "alice"}
METHODS = [
    (f"/{service.full_name}/{method.name}", contract.streaming_kind(method))
    for service in [
        *contract.services(),
        operations_proto_pb2.DESCRIPTOR.services_by_name["Operations"],
    ]
    for method in service.methods
]
PAYLOADS = {
    "empty": b"",
    "undecodable": b"\xff\xff\xff",
}


async def _requests(payload: bytes) -> AsyncIterator[bytes]:
    yield payload


async def _call(
    channel: grpc.aio.Channel,
    method: str,
    kind: str,
    payload: bytes,
    metadata: tuple[tuple[str, str], ...],
) -> None:
    # No serializers: the bytes go as they are.
    if kind == "unary":
        unary: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
        await unary(payload, metadata=metadata, timeout=10)
    elif kind == "server-streaming":
        streaming: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(method)
        async for _ in streaming(payload, metadata=metadata, timeout=10):
            pass
    else:
        assert kind == "client-streaming", kind
        upload: grpc.aio.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(method)
        await upload(_requests(payload), metadata=metadata, timeout=10)


def test_the_walk_covers_every_service() -> None:
    services = {method.split("/")[1] for method, _ in METHODS}
    assert len(METHODS) >= 30
    assert "google.longrunning.Operations" in services
    assert {kind for _, kind in METHODS} >= {"unary", "server-streaming", "client-streaming"}


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
@pytest.mark.parametrize(("method", "kind"), METHODS, ids=[m for m, _ in METHODS])
@pytest.mark.parametrize("metadata", [(), (("x-api-key", "wrong"),)], ids=["no key", "bad key"])
async def test_unauthenticated_first(
    state: ServerState,
    running: Running,
    channel: grpc.aio.Channel,
    method: str,
    kind: str,
    payload: str,
    metadata: tuple[tuple[str, str], ...],
) -> None:
    state.api_keys.update(KEYS)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, method, kind, PAYLOADS[payload], metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED, caught.value.details()


async def test_validation_waits_for_authentication(
    state: ServerState, running: Running, channel: grpc.aio.Channel
) -> None:
    """StreamDatasetRows with start_index=-1 used to answer INVALID_ARGUMENT to anyone."""
    state.api_keys.update(KEYS)
    request = dataset_service_pb2.StreamDatasetRowsRequest(dataset="datasets/x", start_index=-1)
    method = "/textgen.v1.DatasetService/StreamDatasetRows"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(channel, method, "server-streaming", request.SerializeToString(), ())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(
            channel,
            method,
            "server-streaming",
            request.SerializeToString(),
            (("x-api-key", "key-a"),),
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
