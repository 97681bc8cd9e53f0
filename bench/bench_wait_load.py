"""GenerateText latency with 1,000 WaitOperation long polls outstanding, against an idle server.

Server and client share one event loop in this process, so the loaded figure includes the
client side of the 1,000 pending calls too: a pessimistic measure of starvation.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import grpc
from google.longrunning import operations_pb2_grpc
from google.longrunning import operations_proto_pb2 as operations_pb2
from google.protobuf import duration_pb2
from textgen.v1 import (
    model_service_pb2,
    model_service_pb2_grpc,
    text_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
    tuned_model_service_pb2_grpc,
)

from textgen.server.app import serve
from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.state import ServerState
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import Progression, ProgressionPacer

WAITERS = 1000
CALLS = 300
# How long the waiters may take to reach the server before the benchmark gives up.
SETTLE_SECONDS = 60.0


async def _latencies(stub: model_service_pb2_grpc.ModelServiceStub) -> list[float]:
    request = model_service_pb2.GenerateTextRequest(
        model="models/text-bison-001", prompt=text_pb2.TextPrompt(text="Write a haiku")
    )
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        await stub.GenerateText(request, timeout=10)
        samples.append(time.perf_counter() - start)
    return samples


async def _pending_operation(channel: grpc.aio.Channel) -> str:
    """A tuning operation that never finishes: its stages wait on a manual clock that is never
    advanced (production servers do not pace jobs, so the emulator's pacer holds it)."""
    stub = tuned_model_service_pb2_grpc.TunedModelServiceStub(channel)
    example = tuned_model_pb2.TuningExample(text_input="III", output="IV")
    request = tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model=tuned_model_pb2.TunedModel(
            base_model="models/gemini-1.0-pro-001",
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=[example])
                )
            ),
        )
    )
    operation = await stub.CreateTunedModel(request, timeout=10)
    return str(operation.name)


async def _run() -> None:
    clock = ManualClock()
    state = ServerState(engine=FakeEngine(seed=0), clock=clock)
    pacer = ProgressionPacer(clock, Progression.after_duration(3600.0))
    running = await serve(state, operations=Operations(clock, state.stores.operations, pacer))
    target = f"127.0.0.1:{running.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        await _latencies(models)  # warm up
        idle = await _latencies(models)

        name = await _pending_operation(channel)
        operations = operations_pb2_grpc.OperationsStub(channel)
        wait = operations_pb2.WaitOperationRequest(
            name=name, timeout=duration_pb2.Duration(seconds=120)
        )
        waiters = [
            asyncio.ensure_future(operations.WaitOperation(wait, timeout=150))
            for _ in range(WAITERS)
        ]
        deadline = time.monotonic() + SETTLE_SECONDS
        while running.operations.waiting(name) < WAITERS:
            if time.monotonic() > deadline or any(waiter.done() for waiter in waiters):
                for waiter in waiters:
                    waiter.cancel()
                raise RuntimeError(
                    f"only {running.operations.waiting(name)} of {WAITERS} WaitOperation calls "
                    f"were waiting after {SETTLE_SECONDS:.0f} s (did the operation end?)"
                )
            await asyncio.sleep(0.01)
        loaded = await _latencies(models)
        still_waiting = running.operations.waiting(name)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    await running.stop(None)

    idle_ms, loaded_ms = statistics.median(idle) * 1e3, statistics.median(loaded) * 1e3
    print(f"GenerateText median, idle: {idle_ms:.2f} ms over {CALLS} calls")
    print(
        f"GenerateText median, {still_waiting} WaitOperation calls outstanding: "
        f"{loaded_ms:.2f} ms over {CALLS} calls"
    )
    print(f"ratio loaded / idle: {loaded_ms / idle_ms:.2f}x")


def main() -> None:
    """Measure and print the two medians and their ratio."""
    asyncio.run(_run())
