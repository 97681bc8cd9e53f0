"""Operations do not pile up, cancelled batches keep no partial rows, and a stopping server
answers its waiters at once. Each case is bounded by asyncio.wait_for."""

from __future__ import annotations

import asyncio
from typing import cast

import grpc
import pytest
from google.longrunning import operations_pb2_grpc, operations_proto_pb2
from google.protobuf import duration_pb2
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
)

from textgen.server.app import serve
from textgen.server.clock import ManualClock
from textgen.server.lro.operations import Operations
from textgen.server.quotas import StorageLimits
from textgen.server.state import IdGenerator, ServerState
from textgen.testing import FakeServer, Progression
from textgen.testing.fake_engine.engine import FakeEngine
from textgen.testing.pacing import ProgressionPacer

BOUND = 20.0


async def _batch(channel: grpc.aio.Channel, rows: int) -> operations_proto_pb2.Operation:
    datasets = cast(
        "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
        dataset_service_pb2_grpc.DatasetServiceStub(channel),
    )
    prompts = [dataset_pb2.DatasetPrompt(text=f"row {n}") for n in range(rows)]
    source = await datasets.CreateDataset(dataset_service_pb2.CreateDatasetRequest(rows=prompts))
    batches = cast(
        "text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceAsyncStub",
        text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceStub(channel),
    )
    operation: operations_proto_pb2.Operation = await batches.Completion(
        text_generation_batch_service_pb2.BatchCompletionRequest(
            model_uri="models/text-bison-001", source_dataset_id=source.name.split("/")[1]
        )
    )
    return operation


async def test_finished_operations_expire_after_the_retention() -> None:
    """1,154 operations were kept for ever after a load run."""

    async def scenario() -> None:
        limits = StorageLimits(operation_retention=100)
        async with (
            FakeServer(clock="manual", limits=limits, progression=Progression.immediate()) as fake,
            fake.aio_channel() as channel,
        ):
            first = await _batch(channel, 1)
            await fake.operations.wait(first.name, "default", 5)
            operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
            get = operations_proto_pb2.GetOperationRequest(name=first.name)
            assert (await operations.GetOperation(get)).done
            await fake.advance_async(101)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await operations.GetOperation(get)
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            second = await _batch(channel, 1)  # a create sweeps what expired
            names = [found.record.name for found in await fake.state.stores.operations.list()]
            assert names == [second.name]

    await asyncio.wait_for(scenario(), BOUND)


async def test_a_cancelled_batch_keeps_no_partial_results() -> None:
    """200 cancelled jobs left 42,600 result rows behind."""

    async def scenario() -> None:
        async with (
            FakeServer(clock="manual", progression=Progression.after_duration(10)) as fake,
            fake.aio_channel() as channel,
        ):
            operation = await _batch(channel, 100)  # five batches
            await fake.advance_async(6)  # some batches done, their rows stored
            results = [
                found
                for found in await fake.state.stores.datasets.list()
                if found.record.dataset.kind == dataset_pb2.Dataset.KIND_RESULTS
            ]
            assert len(results) == 1 and results[0].record.dataset.row_count > 0
            operations = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
            await operations.CancelOperation(
                operations_proto_pb2.CancelOperationRequest(name=operation.name)
            )
            kinds = [found.record.dataset.kind for found in await fake.state.stores.datasets.list()]
            assert kinds == [dataset_pb2.Dataset.KIND_PROMPTS]

    await asyncio.wait_for(scenario(), BOUND)


async def test_stopping_answers_waiters_unavailable_before_the_grace_ends() -> None:
    """A WaitOperation used to hold the whole grace period, then get "Cancelling all calls";
    the job went on running meanwhile."""

    async def scenario() -> None:
        clock = ManualClock()
        state = ServerState(engine=FakeEngine(seed=0), clock=clock, ids=IdGenerator(0))
        pacer = ProgressionPacer(clock, Progression.after_duration(1000))
        operations = Operations(clock, state.stores.operations, pacer=pacer)
        running = await serve(state, operations=operations, health=False, reflection=False)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            operation = await _batch(channel, 40)
            stub = operations_pb2_grpc.OperationsStub(channel)  # type: ignore[no-untyped-call]
            wait = stub.WaitOperation(
                operations_proto_pb2.WaitOperationRequest(
                    name=operation.name, timeout=duration_pb2.Duration(seconds=600)
                )
            )
            while operations.waiting(operation.name) == 0:
                await asyncio.sleep(0.01)
            stopping = asyncio.ensure_future(running.stop(600))  # a grace far beyond BOUND
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await wait
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "shutting down" in (caught.value.details() or "")
            await stopping
            await clock.advance(1000)  # the job would move on now; it stopped instead
            stored = await state.stores.operations.get(operation.name)
            assert stored is not None and stored.record.operation.done
            assert stored.record.operation.error.code == grpc.StatusCode.UNAVAILABLE.value[0]

    await asyncio.wait_for(scenario(), BOUND)
