"""Memory a finished operation keeps, against the encoded size of its proto.

A server wired as in production (`serve()`: in-memory stores, no pacing) runs in this
process. Tuning jobs of STEPS steps are created through CreateTunedModel, waited for with
WaitOperation, and their tuned models deleted (a finished job's operation stays), so only
the operations remain. The Python heap's growth (tracemalloc, after a full collection) per
operation is set against the mean encoded size (ByteSize) of the same operations, read back
with GetOperation in the same run. A warm-up batch runs first, so grpc's and the server's
one-off allocations are not counted; then ROUNDS rounds of PER_ROUND operations each, and
the figure is the median of the per-round ratios with their spread. The growth of the
process's resident memory is printed as well, as a cross-check that also sees memory
tracemalloc cannot (protobuf's C arenas). Target: at most 2x the proto.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import cast

import grpc
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import duration_pb2
from textgen.v1 import tuned_model_pb2, tuned_model_service_pb2, tuned_model_service_pb2_grpc

from textgen.server.app import serve
from textgen.server.state import ServerState
from textgen.testing.fake_engine.engine import FakeEngine

WARM_UP = 200
ROUNDS = 3
PER_ROUND = 1000
STEPS = 8  # one snapshot per step, in the metadata and in the response
AT_ONCE = 50  # operations in flight together
TARGET = 2.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def _request() -> tuned_model_service_pb2.CreateTunedModelRequest:
    examples = [
        tuned_model_pb2.TuningExample(text_input=f"{n}", output=f"number {n}") for n in range(STEPS)
    ]
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model=tuned_model_pb2.TunedModel(
            display_name="memory",
            base_model="models/gemini-1.0-pro-001",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=examples)
                ),
                hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=1, batch_size=1),
            ),
        )
    )


def _resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


async def _in_batches(count: int, one: Callable[[], Awaitable[str]]) -> list[str]:
    names: list[str] = []
    for start in range(0, count, AT_ONCE):
        names += await asyncio.gather(*(one() for _ in range(min(AT_ONCE, count - start))))
    return names


async def _run() -> list[tuple[float, float, float]]:
    running = await serve(ServerState(engine=FakeEngine(seed=0)), health=False, reflection=False)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            # mypy-protobuf types a stub by its class; on a grpc.aio channel it is the AsyncStub.
            tuning = cast(
                "tuned_model_service_pb2_grpc.TunedModelServiceAsyncStub",
                tuned_model_service_pb2_grpc.TunedModelServiceStub(channel),
            )
            operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
            request = _request()

            async def finished_operation() -> str:
                created = await tuning.CreateTunedModel(request, timeout=30)
                done = await operations.WaitOperation(
                    operations_pb2.WaitOperationRequest(
                        name=created.name, timeout=duration_pb2.Duration(seconds=30)
                    ),
                    timeout=40,
                )
                assert done.done and not done.HasField("error"), done
                model = created.name.split("/operations/")[0]
                await tuning.DeleteTunedModel(
                    tuned_model_service_pb2.DeleteTunedModelRequest(name=model), timeout=30
                )
                return str(created.name)

            await _in_batches(WARM_UP, finished_operation)
            rounds = []
            for _ in range(ROUNDS):
                gc.collect()
                heap, resident = tracemalloc.get_traced_memory()[0], _resident()
                names = await _in_batches(PER_ROUND, finished_operation)
                gc.collect()
                heap_growth = (tracemalloc.get_traced_memory()[0] - heap) / PER_ROUND
                resident_growth = (_resident() - resident) / PER_ROUND
                sizes = [
                    (
                        await operations.GetOperation(operations_pb2.GetOperationRequest(name=name))
                    ).ByteSize()
                    for name in names
                ]
                rounds.append((heap_growth, resident_growth, statistics.mean(sizes)))
            return rounds
    finally:
        await running.stop(None)


def main() -> None:
    """Print the heap kept per finished operation against its proto's encoded size."""
    tracemalloc.start()
    try:
        rounds = asyncio.run(_run())
    finally:
        tracemalloc.stop()
    ratios = [heap / size for heap, _, size in rounds]
    ratio = statistics.median(ratios)
    heap = statistics.median(heap for heap, _, _ in rounds)
    resident = statistics.median(resident for _, resident, _ in rounds)
    size = statistics.median(size for _, _, size in rounds)
    verdict = "within" if ratio <= TARGET else "OVER"
    print(
        f"finished operation ({STEPS}-step tuning): {heap:.0f} B of Python heap kept per "
        f"operation, its proto {size:.0f} B encoded (medians of {ROUNDS} rounds of {PER_ROUND}); "
        f"ratio {ratio:.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}; {verdict} the "
        f"{TARGET:g}x target); resident memory grew {resident:.0f} B per operation"
    )


if __name__ == "__main__":
    main()
