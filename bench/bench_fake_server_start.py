"""FakeServer start plus first call, against a bare grpc server answering the same call.

Both sides build a server on 127.0.0.1:0, open a channel and make one GetModel call; the
baseline's servicer returns a fixed Model and does nothing else.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from concurrent import futures

import grpc
from textgen.v1 import model_pb2, model_service_pb2, model_service_pb2_grpc

from textgen.testing import FakeServer

RUNS = 30
REQUEST = model_service_pb2.GetModelRequest(name="models/text-bison-001")


class _Bare(model_service_pb2_grpc.ModelServiceServicer):
    def GetModel(self, request: object, context: object) -> model_pb2.Model:
        return model_pb2.Model(name="models/text-bison-001")


def _bare_sync() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(4), options=[("grpc.so_reuseport", 0)])
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(_Bare(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        model_service_pb2_grpc.ModelServiceStub(channel).GetModel(REQUEST, timeout=5)
    server.stop(None)


def _fake_sync() -> None:
    with FakeServer() as fake, grpc.insecure_channel(fake.target) as channel:
        model_service_pb2_grpc.ModelServiceStub(channel).GetModel(REQUEST, timeout=5)


async def _bare_async() -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(_Bare(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await model_service_pb2_grpc.ModelServiceStub(channel).GetModel(REQUEST, timeout=5)
    await server.stop(None)


async def _fake_async() -> None:
    async with FakeServer() as fake, grpc.aio.insecure_channel(fake.target) as channel:
        await model_service_pb2_grpc.ModelServiceStub(channel).GetModel(REQUEST, timeout=5)


def _median_ms(action: Callable[[], object]) -> float:
    action()  # warm up imports and the first server
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def main() -> None:
    """Print the medians and the FakeServer / bare ratios, sync and async."""
    rows = [
        ("sync", _median_ms(_fake_sync), _median_ms(_bare_sync)),
        (
            "async",
            _median_ms(lambda: asyncio.run(_fake_async())),
            _median_ms(lambda: asyncio.run(_bare_async())),
        ),
    ]
    for kind, fake, bare in rows:
        print(
            f"{kind}: FakeServer start + first call {fake:.1f} ms, bare grpc server "
            f"{bare:.1f} ms (median of {RUNS}); ratio {fake / bare:.2f}x"
        )
