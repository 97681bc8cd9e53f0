"""Idempotent creates (AIP-155): a repeated request_id answers the first result, per principal."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import grpc
from google.longrunning import operations_proto_pb2
from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    dataset_service_pb2_grpc,
    text_generation_batch_service_pb2,
    text_generation_batch_service_pb2_grpc,
)

from textgen.server.clock import ManualClock
from textgen.server.idempotency import RequestIds
from textgen.testing import FakeServer, Progression

pb = dataset_service_pb2
BOUND = 20.0
KEYS = {"key-a": "alice", "key-b": "bob"}
ID = "5c3a4a8e-7d3f-4b0e-9a63-0f4f5d0f9d11"


async def test_a_repeated_request_id_returns_the_first_dataset_for_its_principal_only() -> None:
    async def scenario() -> None:
        async with FakeServer(api_keys=KEYS) as fake, fake.aio_channel() as channel:
            stub = cast(
                "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
                dataset_service_pb2_grpc.DatasetServiceStub(channel),
            )
            alice, bob = (("x-api-key", "key-a"),), (("x-api-key", "key-b"),)
            request = pb.CreateDatasetRequest(
                rows=[dataset_pb2.DatasetPrompt(text="hi")], request_id=ID
            )
            first = await stub.CreateDataset(request, metadata=alice)
            again = await stub.CreateDataset(request, metadata=alice)
            assert again == first
            other = await stub.CreateDataset(request, metadata=bob)  # bob's ids are his own
            assert other.name != first.name
            assert len(await fake.state.stores.datasets.list()) == 2
            # Concurrent repeats make one dataset too.
            racing = pb.CreateDatasetRequest(
                rows=[dataset_pb2.DatasetPrompt(text="hi")], request_id="race"
            )
            answers = await asyncio.gather(
                *(stub.CreateDataset(racing, metadata=alice) for _ in range(5))
            )
            assert len({answer.name for answer in answers}) == 1
            assert len(await fake.state.stores.datasets.list()) == 3

    await asyncio.wait_for(scenario(), BOUND)


async def test_a_repeated_completion_answers_the_first_operation_as_it_is_now() -> None:
    async def scenario() -> None:
        async with (
            FakeServer(progression=Progression.immediate()) as fake,
            fake.aio_channel() as channel,
        ):
            datasets = cast(
                "dataset_service_pb2_grpc.DatasetServiceAsyncStub",
                dataset_service_pb2_grpc.DatasetServiceStub(channel),
            )
            await datasets.CreateDataset(
                pb.CreateDatasetRequest(
                    dataset_id="src", rows=[dataset_pb2.DatasetPrompt(text="hi")]
                )
            )
            batches = cast(
                "text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceAsyncStub",
                text_generation_batch_service_pb2_grpc.TextGenerationBatchServiceStub(channel),
            )
            request = text_generation_batch_service_pb2.BatchCompletionRequest(
                model_uri="models/text-bison-001", source_dataset_id="src", request_id=ID
            )
            first: operations_proto_pb2.Operation = await batches.Completion(request)
            await fake.operations.wait(first.name, "default", 5)
            again: operations_proto_pb2.Operation = await batches.Completion(request)
            assert again.name == first.name and again.done
            listed = await fake.state.stores.operations.list()
            assert [found.record.name for found in listed] == [first.name]

    await asyncio.wait_for(scenario(), BOUND)


async def test_ids_are_forgotten_after_their_time_and_past_capacity() -> None:
    clock = ManualClock()
    ids = RequestIds(clock, ttl=60, capacity=2)
    made: list[str] = []

    async def create() -> dataset_pb2.Dataset:
        made.append(f"datasets/{len(made)}")
        return dataset_pb2.Dataset(name=made[-1])

    first = await ids.once("p", "CreateDataset", "a", dataset_pb2.Dataset, create)
    assert (await ids.once("p", "CreateDataset", "a", dataset_pb2.Dataset, create)) == first
    await clock.advance(61)
    assert (await ids.once("p", "CreateDataset", "a", dataset_pb2.Dataset, create)) != first
    for request_id in ("b", "c", "d"):
        await ids.once("p", "CreateDataset", request_id, dataset_pb2.Dataset, create)
    assert len(ids) == 2


async def test_a_failed_first_attempt_remembers_nothing() -> None:
    ids = RequestIds(ManualClock(), ttl=60, capacity=10)

    async def failing() -> dataset_pb2.Dataset:
        raise grpc.RpcError("down")

    async def working() -> dataset_pb2.Dataset:
        return dataset_pb2.Dataset(name="datasets/ok")

    with contextlib.suppress(grpc.RpcError):
        await ids.once("p", "CreateDataset", "a", dataset_pb2.Dataset, failing)
    answer = await ids.once("p", "CreateDataset", "a", dataset_pb2.Dataset, working)
    assert answer.name == "datasets/ok"
