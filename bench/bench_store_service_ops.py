"""Short batch jobs per second over gRPC on the memory, SQLite and PostgreSQL stores, side by
side (bench_store_ops measures the stores alone; this measures the service on each).

Three `textgen serve --progression immediate` processes, one per store (PostgreSQL: a
throwaway cluster on a unix socket), each with a one-row prompt dataset (and
--max-resources raised: every job keeps a result dataset). A lifecycle is what
a client of a short job does: Completion (the batch is created and its operation stored),
GetOperation, then WaitOperation until the operation is done. Each round runs PER_ROUND
lifecycles per server with AT_ONCE in flight, the servers taking turns (A/B interleaved),
ROUNDS rounds. Printed per store: lifecycles per second, median with its min-max spread, and
its ratio to the memory store measured in the same round.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _replicas import postgres, servers, spread

ROUNDS = 5
PER_ROUND = 200
AT_ONCE = 8
MODEL = "models/text-bison-001"


async def _upload(channel: grpc.aio.Channel) -> None:
    stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    header = dataset_service_pb2.UploadDatasetHeader(
        dataset=dataset_pb2.Dataset(display_name="one"), dataset_id="one"
    )
    chunk = dataset_service_pb2.UploadDatasetChunk(rows=[dataset_pb2.DatasetPrompt(text="hi")])
    messages = [
        dataset_service_pb2.UploadDatasetRequest(header=header),
        dataset_service_pb2.UploadDatasetRequest(chunk=chunk),
    ]
    await stub.UploadDataset(iter(messages), timeout=30)


async def _lifecycles(channel: grpc.aio.Channel) -> float:
    # Lifecycles per second over PER_ROUND of them, AT_ONCE at a time.
    batches = text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceStub(channel)
    operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
    request = text_generation_batch_service_pb2.BatchCompletionRequest(
        model_uri=MODEL, source_dataset_id="one"
    )
    gate = asyncio.Semaphore(AT_ONCE)

    async def one() -> None:
        async with gate:
            name = (await batches.Completion(request, timeout=30)).name
            await operations.GetOperation(operations_pb2.GetOperationRequest(name=name))
            wait = operations_pb2.WaitOperationRequest(
                name=name, timeout=duration_pb2.Duration(seconds=30)
            )
            while not (await operations.WaitOperation(wait, timeout=40)).done:
                pass

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(PER_ROUND)))
    return PER_ROUND / (time.perf_counter() - started)


async def _measure(targets: dict[str, str]) -> dict[str, list[float]]:
    channels = {kind: grpc.aio.insecure_channel(target) for kind, target in targets.items()}
    try:
        for channel in channels.values():
            await _upload(channel)
            await _lifecycles(channel)  # warm up
        rates: dict[str, list[float]] = {kind: [] for kind in channels}
        for _ in range(ROUNDS):
            for kind, channel in channels.items():
                rates[kind].append(await _lifecycles(channel))
        return rates
    finally:
        for channel in channels.values():
            await channel.close()


def main() -> None:
    """Print each store's lifecycles per second through the service, and its ratio to memory."""
    common = ("--progression", "immediate", "--max-resources", "1000000")
    with tempfile.TemporaryDirectory() as directory:
        stores = {"memory": "memory:", "sqlite": f"sqlite://{Path(directory) / 'bench.db'}"}
        try:
            with postgres("service_ops") as urls:
                stores["postgres"] = urls["service_ops"]
                rates = _run(stores, common)
        except (ImportError, FileNotFoundError) as error:
            print(f"postgres left out: {error}")
            rates = _run(stores, common)
    print(
        f"short batch jobs over gRPC (Completion, GetOperation, WaitOperation to done), "
        f"{PER_ROUND} x {ROUNDS} rounds, {AT_ONCE} at once:"
    )
    for kind, values in rates.items():
        ratios = [value / memory for value, memory in zip(values, rates["memory"], strict=True)]
        print(f"  {kind:9} {spread(values, ' jobs/s', 0)}; x{spread(ratios, ' of memory', 3)}")


def _run(stores: dict[str, str], common: tuple[str, ...]) -> dict[str, list[float]]:
    with contextlib.ExitStack() as stack:
        targets = {
            kind: stack.enter_context(servers(1, "--store", url, *common))[0]
            for kind, url in stores.items()
        }
        return asyncio.run(_measure(targets))


if __name__ == "__main__":
    main()
