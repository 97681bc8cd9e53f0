"""UploadDataset throughput: our server against a bare grpc.aio sink, rows per second.

The sink is a grpc.aio server with one client-streaming handler that decodes each message of
the stream (as grpc does for ours) and only counts the rows; it answers with a Dataset shaped
like ours. Each server runs in its own process (so its Python work does not share the GIL
with the client's), on loopback. One client, the generated stub on a grpc.aio channel, sends
the same prebuilt stream to both: a header, then chunks of CHUNK_ROWS rows (the Python
client's chunk size). Uploads alternate between the servers (sink, ours, sink, ...), each
pair within seconds, and the figure is the median of the per-pair ratios with their spread.
Our server deletes each dataset after its upload, so memory stays bounded. Two row shapes: a
short text prompt, and a three-message conversation. Target: ours >= 0.5x the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import cast

import grpc
from textgen.v1 import dataset_pb2, dataset_service_pb2, dataset_service_pb2_grpc, message_pb2

ROWS = 300_000  # rows per upload
CHUNK_ROWS = 500
PAIRS = 11  # uploads to each server, per row shape, interleaved
TARGET = 0.5
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]
UPLOAD_METHOD = "/textgen.v1.DatasetService/UploadDataset"


def _text_rows() -> list[dataset_pb2.DatasetPrompt]:
    return [
        dataset_pb2.DatasetPrompt(text=f"Write a short poem about the number {i}.")
        for i in range(CHUNK_ROWS)
    ]


def _conversation_rows() -> list[dataset_pb2.DatasetPrompt]:
    turns = ("Hello, who are you?", "I am a helpful assistant.", "Tell me about row {i}.")
    return [
        dataset_pb2.DatasetPrompt(
            messages=dataset_pb2.MessageList(
                messages=[
                    message_pb2.Message(author=str(n % 2), content=turn.format(i=i))
                    for n, turn in enumerate(turns)
                ]
            )
        )
        for i in range(CHUNK_ROWS)
    ]


SHAPES = {"text": _text_rows, "conversation": _conversation_rows}


def _stream(
    rows: list[dataset_pb2.DatasetPrompt],
) -> list[dataset_service_pb2.UploadDatasetRequest]:
    header = dataset_service_pb2.UploadDatasetRequest(
        header=dataset_service_pb2.UploadDatasetHeader(
            dataset=dataset_pb2.Dataset(display_name="bench")
        )
    )
    chunk = dataset_service_pb2.UploadDatasetRequest(
        chunk=dataset_service_pb2.UploadDatasetChunk(rows=rows)
    )
    return [header] + [chunk] * (ROWS // CHUNK_ROWS)


# --- the servers (each in a process of its own) ----------------------------------------


async def _serve_sink() -> None:
    async def upload(
        requests: AsyncIterator[dataset_service_pb2.UploadDatasetRequest], context: object
    ) -> dataset_pb2.Dataset:
        count = 0
        async for request in requests:
            count += len(request.chunk.rows)
        answer = dataset_pb2.Dataset(
            name="datasets/abcdefghijkl",
            display_name="bench",
            kind=dataset_pb2.Dataset.KIND_PROMPTS,
            row_count=count,
        )
        answer.create_time.GetCurrentTime()
        return answer

    handler = grpc.stream_unary_rpc_method_handler(
        upload,
        request_deserializer=dataset_service_pb2.UploadDatasetRequest.FromString,
        response_serializer=dataset_pb2.Dataset.SerializeToString,
    )
    service = grpc.method_handlers_generic_handler(
        "textgen.v1.DatasetService", {"UploadDataset": handler}
    )
    server = grpc.aio.server(options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers((service,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


async def _serve_ours() -> None:
    from textgen.server.app import serve  # noqa: PLC0415
    from textgen.server.quotas import StorageLimits  # noqa: PLC0415
    from textgen.server.state import ServerState  # noqa: PLC0415
    from textgen.testing.fake_engine.engine import FakeEngine  # noqa: PLC0415

    # An upload is larger than a dataset may be by default (docs/limits.md).
    limits = StorageLimits(dataset_rows=ROWS)
    state = ServerState(engine=FakeEngine(seed=0), limits=limits)
    running = await serve(state, health=False, reflection=False)
    print(running.port, flush=True)
    await running.server.wait_for_termination()


@contextlib.contextmanager
def _server(kind: str) -> Iterator[str]:
    command = [sys.executable, __file__, "--serve", kind]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            yield f"127.0.0.1:{process.stdout.readline().strip()}"
        finally:
            process.terminate()
            process.wait(10)


# --- the client --------------------------------------------------------------------------


async def _upload(
    stub: dataset_service_pb2_grpc.DatasetServiceAsyncStub,
    stream: list[dataset_service_pb2.UploadDatasetRequest],
    *,
    delete: bool,
) -> float:
    """Rows per second of one upload."""
    start = time.perf_counter()
    created = await stub.UploadDataset(iter(stream), timeout=120)
    elapsed = time.perf_counter() - start
    assert created.row_count == ROWS, created
    if delete:
        await stub.DeleteDataset(dataset_service_pb2.DeleteDatasetRequest(name=created.name))
    return ROWS / elapsed


async def _measure(
    sink_target: str, ours_target: str
) -> dict[str, tuple[list[float], list[float]]]:
    figures: dict[str, tuple[list[float], list[float]]] = {}
    async with (
        grpc.aio.insecure_channel(sink_target) as sink_channel,
        grpc.aio.insecure_channel(ours_target) as ours_channel,
    ):
        # mypy-protobuf types a stub by its class; on a grpc.aio channel it is the AsyncStub.
        sink = cast(
            "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
            dataset_service_pb2_grpc.DatasetServiceStub(sink_channel),
        )
        ours = cast(
            "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
            dataset_service_pb2_grpc.DatasetServiceStub(ours_channel),
        )
        for shape, make_rows in SHAPES.items():
            stream = _stream(make_rows())
            await _upload(sink, stream, delete=False)  # warm up
            await _upload(ours, stream, delete=True)
            sink_rates: list[float] = []
            ours_rates: list[float] = []
            for pair in range(PAIRS):
                first_sink = pair % 2 == 0
                if first_sink:
                    sink_rates.append(await _upload(sink, stream, delete=False))
                ours_rates.append(await _upload(ours, stream, delete=True))
                if not first_sink:
                    sink_rates.append(await _upload(sink, stream, delete=False))
            figures[shape] = (sink_rates, ours_rates)
    return figures


def main() -> None:
    """Print rows/s of each server and the ours/sink ratio per row shape."""
    with _server("sink") as sink_target, _server("ours") as ours_target:
        figures = asyncio.run(_measure(sink_target, ours_target))
    for shape, (sink_rates, ours_rates) in figures.items():
        ratios = [o / s for o, s in zip(ours_rates, sink_rates, strict=True)]
        ratio = statistics.median(ratios)
        verdict = "meets" if ratio >= TARGET else "MISSES"
        print(
            f"UploadDataset, {shape} rows: ours {statistics.median(ours_rates) / 1e3:.0f}k rows/s, "
            f"bare sink {statistics.median(sink_rates) / 1e3:.0f}k rows/s "
            f"(medians of {PAIRS} uploads of {ROWS} rows in chunks of {CHUNK_ROWS}); "
            f"ratio {ratio:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}; "
            f"{verdict} the {TARGET}x target)"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(_serve_sink() if sys.argv[2] == "sink" else _serve_ours())
    else:
        main()
